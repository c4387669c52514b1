"""anon_ip 1-0-x: masks user_ipaddress after the IP lookups, written as Enrich writes it (`168.192.x.x`,
`2605:2700:0:3:x:x:x:x`: each masked octet or group an `x`, IPv6 in all eight groups). The masking is
COLLECTOR_IP_ANONYMISE_*'s own (app/privacy.py); only the written form is Enrich's."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from app.enrichments.base import NOTHING, EnrichmentConfig, EventContext, Outcome, Setup
from app.privacy import IpMask

DEFAULT_SEGMENTS = 2  # Enrich's default when anonSegments is absent (anon_ip 1-0-0)
MASKED = "x"


@dataclass(frozen=True, slots=True)
class AnonIp:
    config: EnrichmentConfig
    mask: IpMask
    octets: int
    segments: int

    def written_masked(self, text: str) -> str:
        masked = self.mask.mask(text)
        try:
            address = ipaddress.ip_address(masked)
        except ValueError:
            return masked  # not an address: left as the mask left it
        if address.version == 4:
            parts, count, separator = str(address).split("."), self.octets, "."
        else:
            parts = [f"{int(group, 16):x}" for group in address.exploded.split(":")]
            count, separator = self.segments, ":"
        return separator.join(parts[: len(parts) - count] + [MASKED] * count)

    def apply(self, event: dict[str, Any], context: EventContext) -> Outcome:
        if "user_ipaddress" in event:
            event["user_ipaddress"] = self.written_masked(event["user_ipaddress"])
        return NOTHING


def build(config: EnrichmentConfig, _: Setup) -> AnonIp:
    octets = int(config.parameters["anonOctets"])
    segments = int(config.parameters.get("anonSegments", DEFAULT_SEGMENTS))
    return AnonIp(config, IpMask(octets, segments), octets, segments)
