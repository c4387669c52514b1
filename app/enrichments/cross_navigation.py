"""cross_navigation_config 1-0-0 → the `cross_navigation` 1-0-0 derived context, from the `_sp` parameter a
tracker adds to links into another of the team's domains, read from the page URL's query string by
app/cross_domain.py (Enrich's rules). The atomic mapping already fills refr_domain_userid and
refr_dvce_tstamp from it, and fails the event on a malformed `_sp`: this enrichment adds the context.
A context its schema would refuse (no timestamp, a session id that is not a UUID, an unknown platform)
fails the event, naming why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app import schemas
from app.badrows import input_data
from app.cross_domain import CrossDomain, parse_sp, sp_parameter
from app.enrichments.base import NOTHING, EnrichmentConfig, EventContext, Outcome, Setup, validation_details
from app.failures import Failure
from app.iglu import Registry, SchemaKey

SCHEMA = SchemaKey.of(schemas.CROSS_NAVIGATION)


def context_data(link: CrossDomain) -> dict[str, Any]:
    """The context's properties: absent parts left out, but the timestamp always there (as Enrich writes it)."""
    data = {
        "domain_user_id": link.domain_userid,
        "timestamp": link.timestamp,
        "session_id": link.session_id,
        "user_id": link.user_id,
        "source_id": link.source_id,
        "source_platform": link.source_platform,
        "reason": link.reason,
    }
    return {name: value for name, value in data.items() if value is not None or name == "timestamp"}


@dataclass(frozen=True, slots=True)
class CrossNavigation:
    config: EnrichmentConfig
    registry: Registry | None

    def apply(self, event: dict[str, Any], context: EventContext) -> Outcome:
        query = event.get("page_urlquery")
        value = sp_parameter(query) if query and "_sp" in query else None
        link = parse_sp(value) if value is not None else None
        if link is None or isinstance(link, Failure) or link == CrossDomain():
            return NOTHING  # no link, or a malformed one the atomic mapping has already failed the event for
        data = context_data(link)
        invalid = self.registry.validate(SCHEMA, data) if self.registry is not None else None
        if invalid is not None:
            reports = validation_details(invalid).get("dataReports") or [{"message": "invalid"}]
            expectation = f"a cross_navigation context: {reports[0]['message']}"
            return Outcome(failure=input_data("_sp", value, expectation))
        return Outcome(({"schema": SCHEMA.uri, "data": data},))


def build(config: EnrichmentConfig, setup: Setup) -> CrossNavigation:
    return CrossNavigation(config, setup.registry)
