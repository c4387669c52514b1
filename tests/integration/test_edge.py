"""Redirect tracking, custom paths, gzip bodies and CORS options, against the real process."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest

TP2 = "/com.snowplowanalytics.snowplow/tp2"
PAYLOAD_DATA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"
REDIRECTS = {"COLLECTOR_REDIRECT_ENABLED": "true", "COLLECTOR_REDIRECT_DOMAINS": '["shop.example.com"]'}


def page_views(count: int) -> bytes:
    events = [{"e": "pv", "p": "web", "tv": "t-1", "page": f"p{i}"} for i in range(count)]
    return json.dumps({"schema": PAYLOAD_DATA, "data": events}).encode()


def test_redirects_are_off_by_default(collector):
    response = httpx.get(f"{collector.url}/r/tp2", params={"u": "https://shop.example.com/"})
    assert response.status_code == 404
    assert response.text == "redirects disabled"
    assert collector.good() == [] and collector.bad() == []


def test_allowed_redirect_records_the_click_and_redirects(collector_factory):
    collector = collector_factory(env=REDIRECTS)
    target = "https://shop.example.com/offer?id=7"
    response = httpx.get(f"{collector.url}/r/tp2", params={"u": target, "aid": "mail"})
    assert response.status_code == 302
    assert response.headers["location"] == target
    assert "sp=" in response.headers["set-cookie"]
    [event] = collector.good()
    assert event["event"] == "unstruct" and event["v_tracker"] == "r-tp2" and event["app_id"] == "mail"
    assert event["unstruct_event"]["data"] == {
        "schema": "iglu:com.snowplowanalytics.snowplow/uri_redirect/jsonschema/1-0-0",
        "data": {"uri": target},
    }
    assert event["event_name"] == "uri_redirect"


def test_redirect_on_a_tracker_event_becomes_an_entity(collector_factory):
    collector = collector_factory(env=REDIRECTS)
    target = "https://shop.example.com/"
    response = httpx.get(f"{collector.url}/r/tp2", params={"u": target, "e": "se", "se_ca": "mail", "se_ac": "click"})
    assert response.status_code == 302
    [event] = collector.good()
    assert event["event"] == "struct"
    assert [entity["data"] for entity in event["contexts"]["data"]] == [{"uri": target}]


def test_redirect_target_is_escaped_in_the_location_header(collector_factory):
    collector = collector_factory(env=REDIRECTS)
    target = "https://shop.example.com/caf\u00e9?x=1\r\nSet-Cookie: evil=1"
    response = httpx.get(f"{collector.url}/r/tp2", params={"u": target})
    assert response.status_code == 302
    assert response.headers["location"] == "https://shop.example.com/caf%C3%A9?x=1%0D%0ASet-Cookie:%20evil=1"
    assert "evil" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    "params, reason",
    [
        ({}, "missing redirect target"),
        ({"u": "https://evil.example.net/"}, "not on the allow-list"),
        ({"u": "https://shop.example.com.evil.net/"}, "not on the allow-list"),
        ({"u": "javascript:alert(1)"}, "absolute http or https"),
        ({"u": "//shop.example.com/"}, "absolute http or https"),
        ({"u": "https://[::1/"}, "malformed"),
    ],
)
def test_bad_redirect_targets_get_400_and_no_redirect(collector_factory, params, reason):
    collector = collector_factory(env=REDIRECTS)
    response = httpx.get(f"{collector.url}/r/tp2", params=params)
    assert response.status_code == 400
    assert reason in response.text
    assert "location" not in response.headers
    assert collector.good() == [] and collector.bad() == []


def test_enabled_redirect_with_empty_allow_list_is_never_open(collector_factory):
    collector = collector_factory(env={"COLLECTOR_REDIRECT_ENABLED": "true"})
    response = httpx.get(f"{collector.url}/r/tp2", params={"u": "https://anywhere.example/"})
    assert response.status_code == 400


def test_custom_paths_serve_as_their_standard_route(collector_factory):
    paths = {"/acme/t": TP2, "/acme/p.gif": "/i"}
    collector = collector_factory(env={"COLLECTOR_CUSTOM_PATHS": json.dumps(paths)})
    posted = httpx.post(f"{collector.url}/acme/t", content=page_views(2), headers={"Content-Type": "application/json"})
    assert posted.status_code == 200 and posted.text == "ok"
    pixel = httpx.get(f"{collector.url}/acme/p.gif", params={"e": "pv", "p": "web"})
    assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
    assert httpx.options(f"{collector.url}/acme/t").status_code == 200
    assert len(collector.good()) == 3
    assert httpx.get(f"{collector.url}/acme/other").status_code == 404


def test_custom_path_to_an_unknown_route_stops_start_up(collector_factory):
    with pytest.raises(RuntimeError, match="COLLECTOR_CUSTOM_PATHS"):
        collector_factory(env={"COLLECTOR_CUSTOM_PATHS": '{"/x": "/nowhere"}'})


def test_gzip_body_is_accepted(collector):
    response = httpx.post(
        f"{collector.url}{TP2}",
        content=gzip.compress(page_views(3)),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert sorted(event["page_title"] for event in collector.good()) == ["p0", "p1", "p2"]


def test_gzip_bomb_is_413_and_nothing_recorded(collector_factory):
    collector = collector_factory(env={"COLLECTOR_DROP_PAYLOAD_BYTES": "2097152"})
    bomb = gzip.compress(b" " * (50 * 1024 * 1024))  # 50 MiB of spaces in about 50 KiB
    assert len(bomb) < 2097152
    response = httpx.post(
        f"{collector.url}{TP2}", content=bomb, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
    )
    assert response.status_code == 413
    assert collector.good() == [] and collector.bad() == []


@pytest.mark.parametrize(
    "body, encoding, status",
    [(b"not gzip at all", "gzip", 400), (gzip.compress(b'{"a":1}')[:-6], "gzip", 400), (b"{}", "br", 415)],
)
def test_undecodable_bodies_get_a_4xx_naming_the_problem(collector, body, encoding, status):
    response = httpx.post(
        f"{collector.url}{TP2}",
        content=body,
        headers={"Content-Type": "application/json", "Content-Encoding": encoding},
    )
    assert response.status_code == status
    assert ("gzip" in response.text) or ("Content-Encoding" in response.text)
    assert collector.good() == [] and collector.bad() == []


def test_cors_allow_list_and_extra_headers(collector_factory):
    collector = collector_factory(
        env={
            "COLLECTOR_CORS_ALLOWED_ORIGINS": '["https://www.acme.com"]',
            "COLLECTOR_CORS_EXTRA_HEADERS": '["traceparent"]',
        }
    )
    allowed = httpx.options(f"{collector.url}{TP2}", headers={"Origin": "https://www.acme.com"})
    assert allowed.headers["access-control-allow-origin"] == "https://www.acme.com"
    assert allowed.headers["access-control-allow-headers"] == "Content-Type, SP-Anonymous, traceparent"
    assert allowed.headers["vary"] == "Origin"
    refused = httpx.options(f"{collector.url}{TP2}", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-credentials" not in refused.headers
