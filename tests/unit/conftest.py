"""Unit-test fixtures: the real Iglu schemas, and requests built the way routes builds them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from app.iglu import Registry
from app.request import TP2_PATH, CollectorRequest

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
RECEIVED_MS = 1_700_000_000_000  # 2023-11-14T22:13:20.000Z
PUBLIC_PEER = "203.0.113.9"  # not a trusted proxy by default


@pytest.fixture(scope="session")
def registry() -> Registry:
    return Registry(SCHEMAS)


def _request(
    method: str = "GET",
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    peer: str | None = PUBLIC_PEER,
    path: str | None = None,
) -> CollectorRequest:
    return CollectorRequest(
        method=method,
        path=path or ("/i" if method == "GET" else TP2_PATH),
        query_string=query,
        headers={name.lower(): value for name, value in (headers or {}).items()},
        peer=peer,
        body=body,
        received_ms=RECEIVED_MS,
        hostname="collector.example",
    )


@pytest.fixture(scope="session")
def make_request() -> Callable[..., CollectorRequest]:
    """make_request(method="GET", query="", headers=None, body=b"", peer=PUBLIC_PEER, path=None)"""
    return _request


def _payload(events: object, version: str = "1-0-4") -> bytes:
    return orjson.dumps(
        {"schema": f"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/{version}", "data": events}
    )


@pytest.fixture(scope="session")
def payload() -> Callable[..., bytes]:
    """payload(events, version="1-0-4"): a POST body holding `events` as payload_data."""
    return _payload
