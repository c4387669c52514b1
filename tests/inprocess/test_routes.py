"""Every route of the service, in process: what a tracker, a load balancer or a scraper gets back."""

from __future__ import annotations

import orjson
import pytest

from tests.inprocess.conftest import Service
from tests.integration.http_support import JSON, PIXEL_PATHS, TP2, page_view, payload_data

pytestmark = pytest.mark.anyio

GIF_43_BYTES = bytes.fromhex("47494638396101000100f00000ffffff00000021f90405000000002c00000000010001000002024401003b")
NO_CACHE = "no-cache, no-store, must-revalidate"


def tp2_body(*events: dict[str, str]) -> bytes:
    return orjson.dumps(payload_data(*events))


async def test_post_tp2_stores_every_event_and_answers_ok(service):
    first, second = page_view(), page_view(page="Basket")

    response = await service.client.post(TP2, content=tp2_body(first, second), headers=JSON)

    assert (response.status_code, response.text) == (200, "ok")
    assert response.headers["content-type"].startswith("text/plain")
    assert [e["event_id"] for e in service.good.lines()] == [first["eid"], second["eid"]]
    assert service.good.lines()[1]["page_title"] == "Basket"
    assert service.good.lines()[0]["user_ipaddress"] == "203.0.113.9"
    assert service.bad.records == []


@pytest.mark.parametrize("path", PIXEL_PATHS)
async def test_get_answers_the_pixel_uncached_and_stores_the_event(service, path):
    event = page_view()

    response = await service.client.get(path, params=event)

    assert response.status_code == 200
    assert response.content == GIF_43_BYTES
    assert response.headers["content-type"] == "image/gif"
    assert response.headers["cache-control"] == NO_CACHE
    assert response.headers["set-cookie"].startswith("sp=")
    assert [e["event_id"] for e in service.good.lines()] == [event["eid"]]


@pytest.mark.parametrize("path", PIXEL_PATHS)
async def test_head_answers_the_pixel_length_without_a_body_and_stores_the_event(service, path):
    event = page_view()

    response = await service.client.head(path, params=event)

    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(GIF_43_BYTES))
    assert response.content == b""
    assert [e["event_id"] for e in service.good.lines()] == [event["eid"]]


async def test_a_custom_path_is_served_as_the_route_it_maps_to(configured):
    service = await configured(custom_paths={"/acme/t": TP2})
    event = page_view()
    response = await service.client.post("/acme/t", content=tp2_body(event), headers=JSON)

    assert response.status_code == 200
    assert [e["event_id"] for e in service.good.lines()] == [event["eid"]]


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", TP2), ("DELETE", "/i"), ("POST", "/i"), ("POST", "/ice.png")],
)
async def test_a_method_a_route_does_not_take_is_405_naming_it(service, method, path):
    response = await service.client.request(method, path, content=tp2_body(page_view()))

    assert response.status_code == 405
    assert method in response.text
    assert service.good.records == service.bad.records == []


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/health", 200, "ok"),
        ("/sink-health", 200, "ok"),
        ("/robots.txt", 200, "User-agent: *\nDisallow: /\n"),
        ("/no/such/path", 404, '{"detail":"Not Found"}'),
    ],
)
async def test_the_service_routes_answer(service, path, status, body):
    response = await service.client.get(path)

    assert (response.status_code, response.text) == (status, body)


async def test_sink_health_is_503_while_a_sink_refuses_writes(service):
    service.good.failing = True

    assert (await service.client.get("/sink-health")).status_code == 503


async def test_a_failed_write_is_503_with_retry_after_and_nothing_acknowledged(service):
    service.bad.failing = True

    response = await service.client.post(TP2, content=tp2_body(page_view()), headers=JSON)

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "retry later" in response.text


async def test_metrics_count_requests_by_route_and_status_and_events_by_outcome(service):
    before = await counters(service)
    await service.client.get("/i", params=page_view())
    await service.client.put("/i")

    after = await counters(service)

    for sample in (
        'collector_requests_total{route="/i",status="200"}',
        'collector_requests_total{route="/i",status="405"}',
        'collector_events_total{outcome="good"}',
    ):
        assert after[sample] - before.get(sample, 0) == 1, sample


async def counters(service: Service) -> dict[str, float]:
    """Every sample of /metrics by name and labels."""
    text = (await service.client.get("/metrics")).text
    return {
        name: float(value)
        for name, value in (line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    }


async def test_an_invalid_event_becomes_a_bad_row_and_the_tracker_still_gets_its_answer(service):
    response = await service.client.get("/i", params={"e": "ue", "p": "web", "tv": "t", "ue_pr": "{not json"})

    assert response.status_code == 200
    assert service.good.records == []
    [row] = service.bad.lines()
    assert row["schema"].startswith("iglu:com.snowplowanalytics.snowplow.badrows/")
