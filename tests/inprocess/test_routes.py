"""Every route of the service, in process: what a tracker, a load balancer or a scraper gets back."""

from __future__ import annotations

import threading

import orjson
import pytest

from tests.inprocess.conftest import Service, call_asgi
from tests.integration.http_support import JSON, PIXEL_PATHS, TP2, page_view, payload_data

pytestmark = pytest.mark.anyio

GIF_43_BYTES = bytes.fromhex("47494638396101000100f00000ffffff00000021f90405000000002c00000000010001000002024401003b")
NO_CACHE = "no-cache, no-store, must-revalidate"
JSON_HEADER = ("Content-Type", "application/json")


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


async def test_the_docs_page_describes_the_service_routes(service):
    page = await service.client.get("/docs")
    described = (await service.client.get("/openapi.json")).json()

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert {"/health", "/sink-health", "/metrics", "/robots.txt"} <= set(described["paths"])


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
    assert row["data"]["payload"]["raw"]["hostname"] == "collector.test"  # from the Host header


async def test_a_client_that_hangs_up_mid_body_gets_no_answer_and_nothing_is_recorded(service):
    """What uvicorn hands the app when the connection drops before the body is complete."""
    answer = await call_asgi(
        service.app, "POST", TP2, headers=[JSON_HEADER], chunks=[tp2_body(page_view())[:20]], hang_up=True
    )

    assert answer.status is None
    assert service.good.records == service.bad.records == []


KNOWN_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


async def test_repeated_cookie_headers_are_read_as_one_cookie_list(service):
    """HTTP/2 sends each cookie as its own header; they join with '; ', not ', '."""
    headers = [("Cookie", f"sp={KNOWN_ID}"), ("Cookie", "a=1")]
    answer = await call_asgi(service.app, "GET", "/i", query=b"e=pv&p=web&tv=t", headers=headers)

    assert answer.headers["set-cookie"].startswith(f"sp={KNOWN_ID};")
    assert [event["network_userid"] for event in service.good.lines()] == [KNOWN_ID]


async def test_repeated_forwarding_headers_are_read_as_one_hop_list(configured):
    service = await configured(trusted_proxies=["203.0.113.0/24", "10.0.0.0/8"])
    headers = [("X-Forwarded-For", "198.51.100.1"), ("X-Forwarded-For", "10.0.0.5")]
    await call_asgi(service.app, "GET", "/i", query=b"e=pv&p=web&tv=t", headers=headers)

    assert [event["user_ipaddress"] for event in service.good.lines()] == ["198.51.100.1"]


async def test_head_on_the_pixel_sends_its_length_but_no_bytes(service):
    answer = await call_asgi(service.app, "HEAD", "/i", query=b"e=pv&p=web&tv=t")

    assert (answer.status, answer.headers["content-length"], answer.body) == (200, str(len(GIF_43_BYTES)), b"")


async def test_with_a_remote_registry_events_are_collected_off_the_event_loop(service, monkeypatch):
    """A lookup over the network may block: it must not stall every other request."""
    pipeline = service.app.pipeline
    collect, threads = pipeline.collect, []

    def collect_noting_the_thread(request):
        threads.append(threading.current_thread())
        return collect(request)

    monkeypatch.setattr(pipeline, "may_block", True)
    monkeypatch.setattr(pipeline, "collect", collect_noting_the_thread)
    response = await service.client.get("/i", params=page_view())

    assert response.status_code == 200
    assert len(service.good.records) == 1
    assert threads and threads[0] is not threading.main_thread()
