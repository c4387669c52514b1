"""asn_lookups 1-0-0: marks the `asn` context that ip_lookups derived as `likelyBot` when its number is one
of the configured bot ASNs (cloud, hosting and colo networks: the CSV file and `botAsns`), writing it as
asn 1-0-1. Events of the `bypassPlatforms` are left alone."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.enrichments.base import NOTHING, EnrichmentConfig, EventContext, Outcome, Setup
from app.schemas import ASN as ASN_1_0_0
from app.schemas import ASN_LIKELY_BOT as ASN_1_0_1


def read_bot_asns(path: Path) -> set[int]:
    """Each row: an ASN (`14061` or `AS14061`), maybe its organisation; a header row is skipped."""
    numbers = set()
    with path.open(newline="", encoding="utf-8", errors="replace") as file:
        for row in csv.reader(file):
            if row and row[0].strip().upper().removeprefix("AS").isdigit():
                numbers.add(int(row[0].strip().upper().removeprefix("AS")))
    return numbers


@dataclass(frozen=True, slots=True)
class AsnLookups:
    config: EnrichmentConfig
    bot_asns: frozenset[int]
    bypass_platforms: frozenset[str]

    def apply(self, event: dict[str, Any], context: EventContext) -> Outcome:
        if event.get("platform") in self.bypass_platforms:
            return NOTHING
        for entity in context.derived:
            if entity.get("schema") == ASN_1_0_0:
                entity["schema"] = ASN_1_0_1
                entity["data"]["likelyBot"] = entity["data"]["number"] in self.bot_asns
        return NOTHING


def build(config: EnrichmentConfig, setup: Setup) -> AsnLookups:
    parameters = config.parameters
    numbers = {item["asn"] for item in parameters.get("botAsns", ())}
    if "botAsnsFile" in parameters:
        numbers |= read_bot_asns(setup.files.fetch(config, parameters["botAsnsFile"]))
    return AsnLookups(config, frozenset(numbers), frozenset(parameters.get("bypassPlatforms", ())))
