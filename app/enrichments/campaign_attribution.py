"""campaign_attribution 1-0-x: marketing fields from the page URL's query string (Enrich's rules).

Each mkt_* field takes the first of its configured parameters present in the query; the click id
is the first click-id parameter present, and its network the name it maps to. Enrich's defaults
(gclid, msclkid, dclid) are always known; `mktClickId` adds to or renames them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from app.enrichments.base import NOTHING, EnrichmentConfig, EventContext, Outcome, Setup
from app.text import clean

FIELDS = {
    "mktMedium": "mkt_medium",
    "mktSource": "mkt_source",
    "mktTerm": "mkt_term",
    "mktContent": "mkt_content",
    "mktCampaign": "mkt_campaign",
}
CLICK_IDS = {"gclid": "Google", "msclkid": "Microsoft", "dclid": "DoubleClick"}


@dataclass(frozen=True, slots=True)
class CampaignAttribution:
    config: EnrichmentConfig
    fields: tuple[tuple[str, tuple[str, ...]], ...]  # atomic field → query parameters, first present wins
    click_ids: tuple[tuple[str, str], ...]  # query parameter → network

    def apply(self, event: dict[str, Any], context: EventContext) -> Outcome:
        url = event.get("page_url")
        if not url or "?" not in url:
            return NOTHING
        try:
            query = urlsplit(url).query
        except ValueError:
            return NOTHING  # a URL Python cannot split has no campaign to read
        values = {name: clean(value) for name, value in parse_qsl(query, keep_blank_values=True)}
        for target, parameters in self.fields:
            for name in parameters:
                if name in values:
                    event[target] = values[name]
                    break
        for name, network in self.click_ids:
            if name in values:
                event["mkt_clickid"], event["mkt_network"] = values[name], network
                break
        return NOTHING


def build(config: EnrichmentConfig, _: Setup) -> CampaignAttribution:
    configured = config.parameters["fields"]
    fields = tuple((target, tuple(configured[name])) for name, target in FIELDS.items())
    click_ids = {**CLICK_IDS, **configured.get("mktClickId", {})}
    return CampaignAttribution(config, fields, tuple(click_ids.items()))
