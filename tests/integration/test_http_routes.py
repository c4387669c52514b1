"""docs/behaviour.md#routes and #cors, against the real service process."""

from __future__ import annotations

import gzip

import httpx
import orjson
import pytest
from http_support import (
    JSON,
    PIXEL_PATHS,
    SIZE_VIOLATION,
    TP2,
    assert_valid_bad_row,
    by_event_id,
    page_view,
    payload_data,
    pixel,
    post,
)

GIF_43_BYTES = bytes.fromhex("47494638396101000100f00000ffffff00000021f90405000000002c00000000010001000002024401003b")
NO_CACHE = "no-cache, no-store, must-revalidate"


def test_post_tp2_answers_ok_as_text_and_stores_every_event(collector):
    first, second = page_view(), page_view(page="Basket")

    response = post(collector.url, first, second)

    assert response.status_code == 200
    assert response.text == "ok"
    assert response.headers["content-type"].startswith("text/plain")
    stored = by_event_id(collector.good())
    assert set(stored) == {first["eid"], second["eid"]}
    assert stored[second["eid"]]["page_title"] == "Basket"
    assert collector.bad() == []


def test_post_as_beacon_with_text_plain_is_accepted(collector):
    event = page_view()
    body = orjson.dumps(payload_data(event))

    response = httpx.post(collector.url + TP2, content=body, headers={"Content-Type": "text/plain;charset=UTF-8"})

    assert response.status_code == 200
    assert [e["event_id"] for e in collector.good()] == [event["eid"]]


def test_post_query_string_parameters_apply_to_every_event_and_win(collector):
    first, second = page_view(aid="from-body"), page_view()

    response = post(collector.url, first, second, params={"aid": "from-query"})

    assert response.status_code == 200
    assert [e["app_id"] for e in collector.good()] == ["from-query", "from-query"]


@pytest.mark.parametrize("path", PIXEL_PATHS)
def test_get_answers_the_pixel_and_stores_the_event(collector, path):
    event = page_view()

    response = pixel(collector.url, event, path=path)

    assert response.status_code == 200
    assert response.content == GIF_43_BYTES
    assert response.headers["content-type"] == "image/gif"
    assert response.headers["cache-control"] == NO_CACHE
    [stored] = collector.good()
    assert stored["event_id"] == event["eid"]
    assert stored["event"] == "page_view"


@pytest.mark.parametrize("path", PIXEL_PATHS)
def test_head_answers_pixel_headers_without_body_and_stores_the_event(collector, path):
    event = page_view()

    response = httpx.head(collector.url + path, params=event)

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == "image/gif"
    assert response.headers["cache-control"] == NO_CACHE
    assert [e["event_id"] for e in collector.good()] == [event["eid"]]


@pytest.mark.parametrize("path", PIXEL_PATHS)
@pytest.mark.parametrize("query", ["", "?"])
def test_get_without_a_query_string_answers_the_pixel_and_records_nothing(collector, path, query):
    response = httpx.get(collector.url + path + query)

    assert response.status_code == 200
    assert response.content == GIF_43_BYTES
    assert collector.good() == []
    assert collector.bad() == []


@pytest.mark.parametrize("path", PIXEL_PATHS)
def test_preflight_allows_the_tracker_headers_and_records_nothing(collector, path):
    response = httpx.request(
        "OPTIONS",
        collector.url + path,
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, sp-anonymous",
        },
    )

    assert response.status_code == 200
    allowed_headers = [h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")]
    assert {"content-type", "sp-anonymous"} <= set(allowed_headers)
    allowed_methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert {"GET", "POST", "OPTIONS"} <= allowed_methods
    assert response.headers["access-control-max-age"] == "3600"
    assert response.headers["access-control-allow-origin"] == "https://shop.example"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "set-cookie" not in response.headers
    assert collector.good() == []
    assert collector.bad() == []


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(lambda url, h: pixel(url, page_view(), h), id="GET"),
        pytest.param(lambda url, h: post(url, page_view(), headers=h), id="POST"),
    ],
)
def test_tracking_responses_echo_the_origin_and_allow_credentials(collector, send):
    response = send(collector.url, {"Origin": "https://shop.example"})

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://shop.example"
    assert response.headers["access-control-allow-credentials"] == "true"


def test_tracking_response_without_origin_allows_any_origin(collector):
    response = pixel(collector.url, page_view())

    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-credentials"] == "true"


def test_health_is_ok_while_serving(collector):
    response = httpx.get(collector.url + "/health")

    assert (response.status_code, response.text) == (200, "ok")


def test_sink_health_is_ok_when_the_sink_accepts_writes(collector):
    response = httpx.get(collector.url + "/sink-health")

    assert (response.status_code, response.text) == (200, "ok")


@pytest.mark.parametrize("path", ["/health", "/sink-health"])
def test_health_checks_answer_head_as_load_balancers_send_it(collector, path):
    response = httpx.head(collector.url + path)

    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("DELETE", "/com.snowplowanalytics.snowplow/tp2", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("POST", "/i", {"GET", "HEAD", "OPTIONS"}),
        ("PUT", "/ice.png", {"GET", "HEAD", "OPTIONS"}),
        ("POST", "/health", {"GET", "HEAD"}),
    ],
)
def test_a_method_not_allowed_is_405_naming_the_allowed_ones(collector, method, path, allowed):
    response = httpx.request(method, collector.url + path)

    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed
    assert collector.good() == [] and collector.bad() == []


def test_robots_txt_disallows_all_crawlers(collector):
    response = httpx.get(collector.url + "/robots.txt")

    assert response.status_code == 200
    lines = [line.strip() for line in response.text.splitlines()]
    assert lines[:2] == ["User-agent: *", "Disallow: /"]


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/nothing-here"),
        ("GET", "/com.snowplowanalytics.snowplow/tp3"),
        ("POST", "/com.snowplowanalytics.snowplow/tp3"),
        ("GET", "/i/extra"),
        ("GET", "/com.snowplowanalytics.snowplow/tp2/extra"),
    ],
)
def test_unknown_paths_are_404_and_record_nothing(collector, method, path):
    response = httpx.request(
        method, collector.url + path, params=page_view(), content=b"{}" if method == "POST" else None
    )

    assert response.status_code == 404
    assert collector.good() == []
    assert collector.bad() == []


SMALL_LIMITS = {"COLLECTOR_MAX_PAYLOAD_BYTES": "2000", "COLLECTOR_DROP_PAYLOAD_BYTES": "5000"}


def _body_of_size(size: int) -> bytes:
    """A valid payload_data body of exactly `size` bytes (padded in a page title)."""
    empty = orjson.dumps(payload_data(page_view(page="")))
    return orjson.dumps(payload_data(page_view(page="x" * (size - len(empty)))))


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_above_the_drop_limit_is_413_and_records_nothing(collector_factory, chunked):
    collector = collector_factory(env=SMALL_LIMITS)
    body = _body_of_size(6000)

    content = iter([body[:3000], body[3000:]]) if chunked else body
    response = httpx.post(collector.url + TP2, content=content, headers=JSON)

    assert response.status_code == 413
    assert collector.good() == []
    assert collector.bad() == []


def test_body_above_the_size_limit_but_under_the_drop_limit_becomes_one_size_violation(collector_factory):
    collector = collector_factory(env=SMALL_LIMITS)
    body = _body_of_size(3000)

    response = httpx.post(collector.url + TP2, content=body, headers=JSON)

    assert response.status_code == 200
    assert collector.good() == []
    [row] = collector.bad()
    assert row["schema"] == SIZE_VIOLATION
    assert_valid_bad_row(row)
    failure = row["data"]["failure"]
    assert failure["maximumAllowedSizeBytes"] == 2000
    assert failure["actualSizeBytes"] >= 3000
    assert len(row["data"]["payload"]) <= 2000  # a truncated payload, not the whole body


def test_body_at_the_size_limit_is_still_an_event(collector_factory):
    collector = collector_factory(env=SMALL_LIMITS)
    event = page_view()
    body = orjson.dumps(payload_data(event))
    event["page"] = "x" * (2000 - len(body) - len(',"page":""'))
    body = orjson.dumps(payload_data(event))
    assert len(body) == 2000

    response = httpx.post(collector.url + TP2, content=body, headers=JSON)

    assert response.status_code == 200
    assert [e["event_id"] for e in collector.good()] == [event["eid"]]


def test_gzip_request_body_is_decompressed(collector):
    event = page_view()

    response = httpx.post(
        collector.url + TP2,
        content=gzip.compress(orjson.dumps(payload_data(event))),
        headers={**JSON, "Content-Encoding": "gzip"},
    )

    assert response.status_code == 200
    assert [e["event_id"] for e in collector.good()] == [event["eid"]]
    assert collector.bad() == []


def test_gzip_body_is_held_to_the_drop_limit_once_decompressed(collector_factory):
    collector = collector_factory(env=SMALL_LIMITS)
    body = gzip.compress(_body_of_size(50_000))
    assert len(body) < 2000  # small on the wire

    response = httpx.post(collector.url + TP2, content=body, headers={**JSON, "Content-Encoding": "gzip"})

    assert response.status_code == 413
    assert (collector.good(), collector.bad()) == ([], [])


def test_gzip_body_above_the_size_limit_once_decompressed_is_a_size_violation(collector_factory):
    collector = collector_factory(env=SMALL_LIMITS)
    body = gzip.compress(_body_of_size(3000))

    response = httpx.post(collector.url + TP2, content=body, headers={**JSON, "Content-Encoding": "gzip"})

    assert response.status_code == 200
    assert collector.good() == []
    assert [row["schema"] for row in collector.bad()] == [SIZE_VIOLATION]
