"""CORS on the tracking routes: what a browser needs to send events from a page and read the answer."""

from __future__ import annotations

import pytest

from tests.integration.http_support import PIXEL_PATHS, TP2, page_view

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("path", PIXEL_PATHS)
async def test_preflight_allows_the_tracker_headers_and_records_nothing(service, path):
    response = await service.client.options(
        path, headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://shop.example"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-allow-headers"] == "Content-Type, SP-Anonymous"
    assert response.headers["access-control-allow-methods"] == "GET, POST, OPTIONS"
    assert response.headers["access-control-max-age"] == "3600"
    assert service.good.records == service.bad.records == []


@pytest.mark.parametrize(
    ("origin", "allow_origin", "vary"),
    [
        ("https://shop.example", "https://shop.example", "Origin"),
        ("https://shop.example https://cdn.example", "https://shop.example", "Origin"),
        ("null", "*", None),
        (None, "*", None),
    ],
)
async def test_a_tracking_answer_echoes_the_origin_and_varies_on_it(service, origin, allow_origin, vary):
    headers = {"Origin": origin} if origin else {}

    response = await service.client.get("/i", params=page_view(), headers=headers)

    assert response.headers["access-control-allow-origin"] == allow_origin
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers.get("vary") == vary


async def test_allowed_origins_limit_who_may_read_the_answer_but_events_are_still_stored(configured):
    service = await configured(cors_allowed_origins=["https://shop.example"], cors_extra_headers=["X-Shop"])
    allowed = await service.client.options(TP2, headers={"Origin": "https://SHOP.example"})
    other = await service.client.get("/i", params=page_view(), headers={"Origin": "https://evil.example"})

    assert allowed.headers["access-control-allow-origin"] == "https://SHOP.example"
    assert allowed.headers["access-control-allow-headers"] == "Content-Type, SP-Anonymous, X-Shop"
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers
    assert len(service.good.records) == 1
