"""event_fingerprint_config: Enrich's fingerprint — parameters sorted by name, the excluded ones left out,
each written `name US value US` (U+001F), hashed with the configured algorithm, hex-encoded."""

from __future__ import annotations

import hashlib

import pytest

from tests.unit.enrichment_support import build, run

PARAMS = {"e": "pp", "tv": "js-2.0.0", "p": "web", "tz": "Europe/London", "stm": "1422880000000", "eid": "x-1"}
# What Enrich hashes for PARAMS with eid and stm excluded, written out by hand.
HASHED = "e\x1fpp\x1fp\x1fweb\x1ftv\x1fjs-2.0.0\x1ftz\x1fEurope/London\x1f"

ALGORITHMS = [
    ("MD5", "1-0-0", hashlib.md5),
    ("SHA1", "1-0-1", hashlib.sha1),
    ("SHA256", "1-0-1", hashlib.sha256),
    ("SHA384", "1-0-1", hashlib.sha384),
    ("SHA512", "1-0-1", hashlib.sha512),
]


@pytest.mark.parametrize(("algorithm", "version", "digest"), ALGORITHMS, ids=[a[0] for a in ALGORITHMS])
def test_the_fingerprint_is_the_hash_of_the_sorted_parameters(make_request, algorithm, version, digest):
    enrichment = build(
        "event_fingerprint_config", version, {"excludeParameters": ["eid", "stm"], "hashAlgorithm": algorithm}
    )
    event: dict = {}
    run(enrichment, event, make_request(), params=PARAMS)
    assert event["event_fingerprint"] == digest(HASHED.encode()).hexdigest()


def test_a_retry_with_another_sent_time_has_the_same_fingerprint_and_another_event_does_not(make_request):
    enrichment = build(
        "event_fingerprint_config", "1-0-0", {"excludeParameters": ["eid", "stm"], "hashAlgorithm": "MD5"}
    )
    fingerprints = []
    for params in (PARAMS, {**PARAMS, "stm": "1422880009999", "eid": "x-2"}, {**PARAMS, "e": "pv"}):
        event: dict = {}
        run(enrichment, event, make_request(), params=params)
        fingerprints.append(event["event_fingerprint"])
    assert fingerprints[0] == fingerprints[1] != fingerprints[2]
