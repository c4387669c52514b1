"""anon_ip 1-0-x: masks user_ipaddress after the IP lookups, written as Enrich writes it (`168.192.x.x`,
`2605:2700:0:3:x:x:x:x`), with the masking that COLLECTOR_IP_ANONYMISE_* uses (app/privacy.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.enrichments.base import NOTHING, EnrichmentConfig, EventContext, Outcome, Setup
from app.privacy import IpMask

DEFAULT_SEGMENTS = 2  # Enrich's default when anonSegments is absent (anon_ip 1-0-0)


@dataclass(frozen=True, slots=True)
class AnonIp:
    config: EnrichmentConfig
    mask: IpMask

    def apply(self, event: dict[str, Any], context: EventContext) -> Outcome:
        if "user_ipaddress" in event:
            event["user_ipaddress"] = self.mask.mask(event["user_ipaddress"])
        return NOTHING


def build(config: EnrichmentConfig, _: Setup) -> AnonIp:
    octets = int(config.parameters["anonOctets"])
    segments = int(config.parameters.get("anonSegments", DEFAULT_SEGMENTS))
    return AnonIp(config, IpMask(octets, segments, placeholder="x"))
