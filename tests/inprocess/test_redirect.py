"""Redirect tracking on /r/tp2: off by default, only to allow-listed hosts, the click stored."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio

REDIRECTS = {"redirect_enabled": True, "redirect_domains": ["shop.example"]}


async def test_redirects_are_off_unless_enabled(service):
    response = await service.client.get("/r/tp2", params={"u": "https://shop.example/"})

    assert response.status_code == 404
    assert "redirects disabled" in response.text
    assert service.good.records == []


async def test_a_redirect_answers_302_to_the_target_and_stores_the_click(configured):
    service = await configured(**REDIRECTS)
    response = await service.client.get("/r/tp2", params={"u": "https://shop.example/sale?id=1"})

    assert response.status_code == 302
    assert response.headers["location"] == "https://shop.example/sale?id=1"
    assert response.headers["cache-control"] == "no-cache, no-store, must-revalidate"
    [click] = service.good.lines()
    assert click["event"] == "unstruct"
    assert click["unstruct_event"]["data"]["data"] == {"uri": "https://shop.example/sale?id=1"}


async def test_a_target_with_non_ascii_or_control_characters_is_escaped_in_location(configured):
    service = await configured(**REDIRECTS)
    response = await service.client.get("/r/tp2", params={"u": "https://shop.example/é\r\nSet-Cookie: x"})

    assert response.status_code == 302
    assert response.headers["location"] == "https://shop.example/%C3%A9%0D%0ASet-Cookie:%20x"


@pytest.mark.parametrize(
    ("target", "why"),
    [
        (None, "u parameter is required"),
        ("https://evil.example/", "not on the allow-list"),
        ("javascript:alert(1)", "absolute http or https URL"),
        ("//shop.example/", "absolute http or https URL"),
    ],
)
async def test_a_target_that_may_not_be_redirected_to_is_400_and_nothing_stored(configured, target, why):
    service = await configured(**REDIRECTS)
    response = await service.client.get("/r/tp2", params={"u": target} if target else {})

    assert response.status_code == 400
    assert why in response.text
    assert service.good.records == service.bad.records == []
