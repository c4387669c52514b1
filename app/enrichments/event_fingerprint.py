"""event_fingerprint_config 1-0-x: a hash of the tracker's parameters, exactly as Enrich computes it,
so that deduplication downstream agrees: every parameter but the excluded ones, sorted by name,
each written `name US value US` (US: the unit separator, U+001F), hashed and hex-encoded."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.enrichments.base import NOTHING, EnrichmentConfig, EventContext, Outcome, Setup

UNIT_SEPARATOR = "\x1f"
ALGORITHMS: dict[str, Callable[[bytes], Any]] = {
    "MD5": hashlib.md5,
    "SHA1": hashlib.sha1,
    "SHA256": hashlib.sha256,
    "SHA384": hashlib.sha384,
    "SHA512": hashlib.sha512,
}


@dataclass(frozen=True, slots=True)
class EventFingerprint:
    config: EnrichmentConfig
    hash: Callable[[bytes], Any]
    excluded: frozenset[str]

    def fingerprint(self, params: dict[str, str]) -> str:
        text = "".join(
            f"{name}{UNIT_SEPARATOR}{value}{UNIT_SEPARATOR}"
            for name, value in sorted(params.items())
            if name not in self.excluded
        )
        return str(self.hash(text.encode()).hexdigest())

    def apply(self, event: dict[str, Any], context: EventContext) -> Outcome:
        event["event_fingerprint"] = self.fingerprint(context.params)
        return NOTHING


def build(config: EnrichmentConfig, _: Setup) -> EventFingerprint:
    parameters = config.parameters
    return EventFingerprint(config, ALGORITHMS[parameters["hashAlgorithm"]], frozenset(parameters["excludeParameters"]))
