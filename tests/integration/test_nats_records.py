"""What the NATS stream keeps of each record (SPEC §6): one id per record, not per request, so
JetStream's de-duplication drops a tracker's retry and nothing else."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
from http_support import JSON, TP2, page_view, payload_data
from nats_support import BAD, GOOD, collector_env


def malformed(marker: str) -> dict[str, Any]:
    """Not a tracker event (a number where the protocol wants a string): a tracker_protocol_violations row."""
    return {"e": "pv", "p": "web", "tv": 1, "page": marker}


def client(n: int) -> dict[str, str]:
    """A distinct client behind the trusted loopback proxy: its own address and cookie."""
    return {"X-Forwarded-For": f"203.0.113.{n}", "Cookie": f"sp={uuid.UUID(int=n)}", "User-Agent": "test"}


SAME_EID = str(uuid.uuid4())

# case → requests (client number, body as a function of the case's marker) → (good, bad) stored
CASES: dict[str, tuple[list[tuple[int, Any]], tuple[int, int]]] = {
    "two malformed events and a good one in one request": (
        [(1, lambda m: payload_data(malformed(m), malformed(m + " again"), page_view(page=m)))],
        (1, 2),
    ),
    "the same malformed event twice in one request": (
        [(1, lambda m: payload_data(malformed(m), malformed(m)))],
        (0, 2),
    ),
    "identical malformed payloads from two clients": (
        [(1, lambda m: f"not json {m}"), (2, lambda m: f"not json {m}")],
        (0, 2),
    ),
    "three different events sharing one eid": (
        [(1, lambda m: payload_data(*(page_view(eid=SAME_EID, page=f"{m} {n}") for n in range(3))))],
        (3, 0),
    ),
    "a retry of the same request": (
        [(1, lambda m: payload_data(page_view(eid=SAME_EID, page=m), malformed(m))) for _ in range(2)],
        (1, 1),
    ),
    "a retry whose events carry a new sent time (stm)": (
        [
            (1, lambda m, n=n: payload_data(page_view(eid=SAME_EID, page=m, stm=str(1_700_000_000_000 + n))))
            for n in range(2)
        ],
        (1, 0),
    ),
}


def test_each_record_is_kept_and_only_a_retry_is_dropped(nats_server, collector_factory):
    collector = collector_factory(env=collector_env(nats_server))
    for case, (requests, expected) in CASES.items():
        marker = f"case {uuid.uuid4()}"
        for number, body in requests:
            content = body(marker)
            data = content.encode() if isinstance(content, str) else orjson.dumps(content)
            answer = httpx.post(collector.url + TP2, content=data, headers={**JSON, **client(number)})
            assert answer.status_code == 200, case
        stored = nats_server.messages()
        counts = tuple(
            sum(message.subject == subject and marker.encode() in message.data for message in stored)
            for subject in (GOOD, BAD)
        )
        assert counts == expected, case
