"""cross_navigation_config 1-0-0 → the `cross_navigation` 1-0-0 derived context, from the `_sp` parameter a
tracker adds to links into another of the team's domains (in the page URL's query string):
`_sp=<domain user id>.<epoch ms>[.<session id>.<user id>.<source id>.<source platform>.<reason>]`,
user id, source id and reason in URL-safe base64. As Enrich: more than seven parts is no link at all; a
timestamp that is not epoch milliseconds fails the event. A context its schema would refuse (no
timestamp, a session id that is not a UUID, an unknown platform) fails the event too, naming why.
(The atomic refr_domain_userid / refr_dvce_tstamp, which Enrich fills whatever its configuration,
are the atomic mapping's.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from app.enrich import ParseError, clean, to_timestamp
from app.enrichments.base import NOTHING, EnrichmentConfig, EnrichmentFailure, EventContext, Outcome, Setup
from app.iglu import Registry, SchemaKey
from app.protocol import decode_base64

SCHEMA = SchemaKey("com.snowplowanalytics.snowplow", "cross_navigation", "jsonschema", "1-0-0")
PARTS = ("domain_user_id", "timestamp", "session_id", "user_id", "source_id", "source_platform", "reason")
BASE64_PARTS = frozenset({"user_id", "source_id", "reason"})


def sp_value(url: str) -> str | None:
    if "_sp=" not in url:
        return None
    try:
        query = urlsplit(url).query
    except ValueError:
        return None
    values = [value for name, value in parse_qsl(query, keep_blank_values=True) if name == "_sp"]
    return values[-1] if values else None


def read_sp(value: str) -> dict[str, Any] | EnrichmentFailure | None:
    """The context's data; None when `_sp` holds no link (empty, or more than seven parts)."""
    parts = value.split(".")
    if not value or len(parts) > len(PARTS):
        return None
    data: dict[str, Any] = {}
    for name, part in zip(PARTS, parts, strict=False):
        if name == "timestamp":
            try:
                data[name] = to_timestamp(part) if part else None
            except ParseError as why:
                return EnrichmentFailure("sp_dtm", part, f"epoch milliseconds: {why}")
            continue
        text = decode_base64(part).decode("utf-8", "replace") if name in BASE64_PARTS and part else part
        if text.strip():
            data[name] = clean(text)
    data.setdefault("timestamp", None)
    return data


@dataclass(frozen=True, slots=True)
class CrossNavigation:
    config: EnrichmentConfig
    registry: Registry | None

    def apply(self, event: dict[str, Any], context: EventContext) -> Outcome:
        value = sp_value(event.get("page_url") or "")
        data = read_sp(value) if value is not None else None
        if data is None:
            return NOTHING
        if isinstance(data, EnrichmentFailure):
            return Outcome(failure=data)
        invalid = self.registry.validate(SCHEMA, data) if self.registry is not None else None
        if invalid is not None:
            reports = invalid["error"].get("dataReports") or [{"message": "invalid"}]
            return Outcome(
                failure=EnrichmentFailure("_sp", value, f"a cross_navigation context: {reports[0]['message']}")
            )
        return Outcome(({"schema": SCHEMA.uri, "data": data},))


def build(config: EnrichmentConfig, setup: Setup) -> CrossNavigation:
    return CrossNavigation(config, setup.registry)
