"""bot_detection_enrichment_config 1-0-x → the `bot_detection` 1-0-1 derived context: "any positive is a
bot" over the signals it is told to use — IAB (`spiderOrRobot`), ASN lookups (`likelyBot`) and the
client-side bot detection plugin (`client_side_bot_detection` entity, `bot`). YAUAA does not run here,
so `useYauaa` adds no signal. It runs after the enrichments whose output it reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app import schemas
from app.enrichments.base import EnrichmentConfig, Entity, EventContext, Outcome, Setup

SCHEMA = schemas.BOT_DETECTION
# The entities it reads, of any version.
IAB = schemas.any_version(schemas.SPIDERS_AND_ROBOTS)
ASN = schemas.any_version(schemas.ASN)
CLIENT_SIDE = schemas.any_version(schemas.CLIENT_SIDE_BOT_DETECTION)


def _flagged(entities: list[Entity], prefix: str, flag: str) -> bool:
    return any(
        isinstance(entity, dict)
        and str(entity.get("schema", "")).startswith(prefix)
        and isinstance(entity.get("data"), dict)
        and entity["data"].get(flag) is True
        for entity in entities
    )


@dataclass(frozen=True, slots=True)
class BotDetection:
    config: EnrichmentConfig
    use_iab: bool
    use_asn: bool
    use_client_side: bool

    def apply(self, event: dict[str, Any], context: EventContext) -> Outcome:
        indicators = []
        if self.use_iab and _flagged(context.derived, IAB, "spiderOrRobot"):
            indicators.append("iab")
        if self.use_asn and _flagged(context.derived, ASN, "likelyBot"):
            indicators.append("asnLookups")
        if self.use_client_side and _flagged((event.get("contexts") or {}).get("data") or [], CLIENT_SIDE, "bot"):
            indicators.append("clientSideDetection")
        return Outcome(({"schema": SCHEMA, "data": {"bot": bool(indicators), "indicators": indicators}},))


def build(config: EnrichmentConfig, _: Setup) -> BotDetection:
    parameters = config.parameters
    return BotDetection(config, parameters["useIab"], parameters["useAsnLookups"], parameters["useClientSideDetection"])
