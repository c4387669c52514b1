"""What one request may hold, and gzip bodies: a 4xx naming the limit and nothing recorded, or the
events inflated and stored."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator

import orjson
import pytest

from tests.inprocess.conftest import call_asgi
from tests.integration.http_support import JSON, TP2, page_view, payload_data

pytestmark = pytest.mark.anyio

LIMITS = {
    "max_payload_bytes": 4096,
    "drop_payload_bytes": 8192,
    "max_request_line_bytes": 512,
    "max_header_bytes": 2048,
}


async def chunks(body: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    """A body sent without Content-Length, in pieces, as a streaming client sends it."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize(
    ("request_args", "status", "names"),
    [
        ({"method": "POST", "url": TP2, "content": b"x" * 9000}, 413, "8192 bytes"),
        ({"method": "POST", "url": TP2, "content": chunks(b"x" * 9000)}, 413, "8192 bytes"),
        (
            {
                "method": "POST",
                "url": TP2,
                "content": gzip.compress(b" " * 9000),
                "headers": {"Content-Encoding": "gzip"},
            },
            413,
            "8192 bytes",
        ),
        ({"method": "GET", "url": "/i", "params": {"e": "pv", "url": "x" * 600}}, 414, "512 bytes"),
        ({"method": "GET", "url": "/i", "headers": {"X-Padding": "x" * 2100}}, 431, "2048 bytes"),
        (
            {"method": "POST", "url": TP2, "content": b"not gzip", "headers": {"Content-Encoding": "gzip"}},
            400,
            "not valid gzip",
        ),
        (
            {
                "method": "POST",
                "url": TP2,
                "content": gzip.compress(b"{}")[:-4],
                "headers": {"Content-Encoding": "gzip"},
            },
            400,
            "truncated",
        ),
        (
            {"method": "POST", "url": TP2, "content": zlib.compress(b"{}"), "headers": {"Content-Encoding": "gzip"}},
            400,
            "not valid gzip",
        ),
        (
            {"method": "POST", "url": TP2, "content": b"{}", "headers": {"Content-Encoding": "br"}},
            415,
            "Content-Encoding br",
        ),
    ],
    ids=[
        "413 declared",
        "413 streamed",
        "413 once inflated",
        "414",
        "431",
        "400 not gzip",
        "400 truncated gzip",
        "400 zlib is not gzip",
        "415",
    ],
)
async def test_a_request_over_a_limit_is_refused_naming_it_and_nothing_is_recorded(
    configured, request_args, status, names
):
    service = await configured(**LIMITS)
    response = await service.client.request(**request_args)

    assert response.status_code == status
    assert names in response.text
    assert service.good.records == service.bad.records == []


async def test_a_413_closes_the_connection_whose_body_was_left_unread(configured):
    service = await configured(**LIMITS)
    response = await service.client.post(TP2, content=b"x" * 9000)

    assert response.headers["connection"] == "close"


async def test_a_body_over_the_size_limit_but_under_the_drop_limit_is_one_size_violation(configured):
    service = await configured(**LIMITS)
    response = await service.client.post(TP2, content=orjson.dumps(payload_data(page_view(page="x" * 5000))))

    assert response.status_code == 200
    assert service.good.records == []
    [row] = service.bad.lines()
    assert row["schema"].endswith("/size_violation/jsonschema/1-0-0")


@pytest.mark.parametrize("members", [1, 2], ids=["one gzip member", "two gzip members"])
async def test_a_gzip_body_is_inflated_and_its_events_stored(service, members):
    events = [page_view() for _ in range(members)]
    body = b"".join(gzip.compress(orjson.dumps(payload_data(event))) for event in events[:1])
    if members == 2:  # one JSON document split across two members: a reader must join them
        whole = orjson.dumps(payload_data(*events))
        body = gzip.compress(whole[:10]) + gzip.compress(whole[10:])

    response = await service.client.post(TP2, content=body, headers={**JSON, "Content-Encoding": "gzip"})

    assert response.status_code == 200
    assert [e["event_id"] for e in service.good.lines()] == [event["eid"] for event in events]


def exactly(size: int, events: int = 1) -> bytes:
    """A payload_data body of exactly `size` bytes."""
    body = orjson.dumps(payload_data(*[page_view() for _ in range(events)]))
    return body[:-2] + b" " * (size - len(body)) + body[-2:]


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        ({"headers": [("Content-Length", "8192")], "chunks": [exactly(8192)]}, 200),
        ({"headers": [], "chunks": [exactly(8192)[:5000], exactly(8192)[5000:]]}, 200),
        ({"headers": [("Content-Encoding", "gzip")], "chunks": [gzip.compress(exactly(8192))]}, 200),
        ({"headers": [("Content-Encoding", "identity")], "chunks": [exactly(8192)]}, 200),
        ({"headers": [("Content-Length", "8193")], "chunks": [exactly(8193)]}, 413),
        ({"headers": [], "chunks": [exactly(8193)[:5000], exactly(8193)[5000:]]}, 413),
        ({"headers": [("Content-Encoding", "gzip")], "chunks": [gzip.compress(exactly(8193))]}, 413),
    ],
    ids=["declared", "streamed", "inflated", "identity-encoding", "declared+1", "streamed+1", "inflated+1"],
)
async def test_a_body_of_exactly_the_drop_limit_is_taken_one_byte_more_is_not(configured, request_, status):
    service = await configured(**LIMITS)
    answer = await call_asgi(
        service.app,
        "POST",
        TP2,
        headers=[("Content-Type", "application/json"), *request_["headers"]],
        chunks=request_["chunks"],
    )

    assert answer.status == status
    assert len(service.bad.records) == (1 if status == 200 else 0)  # over max_payload_bytes: a size violation


@pytest.mark.parametrize(
    ("expect", "received"),
    [([("Expect", "100-continue")], 0), ([], 1)],
    ids=["expect-100-continue-nothing-read", "body-read-away-after-the-refusal"],
)
async def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(configured, expect, received):
    """Refused from the declared length alone: nothing of the body is kept. A client waiting for
    100-continue sends nothing, so nothing is read; otherwise the body is read away and thrown out
    before the 413, so that closing does not reset the connection (docs/behaviour.md#limits)."""
    service = await configured(**LIMITS)
    headers = [("Content-Length", "100000"), *expect]
    answer = await call_asgi(service.app, "POST", TP2, headers=headers, chunks=[b"{}"])

    assert (answer.status, answer.received) == (413, received)
    assert service.good.records == [] and service.bad.records == []


@pytest.mark.parametrize(
    ("query_length", "header_bytes", "status"),
    [(510, 2048, 200), (511, 2048, 414), (510, 2049, 431)],
    ids=["both-at-the-limit", "request-line+1", "headers+1"],
)
async def test_request_line_and_header_limits_are_inclusive(configured, query_length, header_bytes, status):
    service = await configured(**LIMITS)
    query = b"e=pv&p=web&tv=t&aid=" + b"a" * (query_length - 20)
    header = ("X-Padding", "x" * (header_bytes - len("x-padding")))
    answer = await call_asgi(service.app, "GET", "/i", query=query, headers=[header])

    assert answer.status == status
