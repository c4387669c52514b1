"""@snowplow/browser-tracker in Debian's headless Chromium, against the real service.

The page (tests/e2e/js/page/index.html, loading the tracker's UMD build from a script tag) is
served from http://localhost:<port>; the collector listens on http://127.0.0.1:<other port>:
another origin and another site, so every request is a credentialed cross-site CORS request and
the collector's cookie is a third-party cookie (see the `page_origin` fixture).
tests/e2e/js/browser_tracker.mjs runs one scenario per test and reports what the browser saw;
these tests assert on that report and on the events the collector stored.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from node_driver import run_node

TP2 = "/com.snowplowanalytics.snowplow/tp2"
CLIENT_SESSION = "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2"
WEB_PAGE = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"
YEAR_S = 365 * 86400


def run_scenario(scenario: str, page_origin: str, collector, **options: str) -> dict[str, Any]:
    config = {"scenario": scenario, "page": f"{page_origin}/", "collector": collector.url, **options}
    return run_node("browser_tracker.mjs", config)


def entities(event: dict, schema: str) -> list[dict]:
    return [e["data"] for e in event.get("contexts", {}).get("data", []) if e["schema"] == schema]


def jar(cookies: list[dict], name: str, domain: str = "127.0.0.1") -> dict | None:
    found = [c for c in cookies if c["name"] == name and c["domain"] == domain]
    assert len(found) <= 1, found
    return found[0] if found else None


def tracker_id_cookie(cookies: list[dict]) -> dict:
    """The tracker's own first-party `_sp_id.<hash>` cookie, on the page's host."""
    [cookie] = [c for c in cookies if c["name"].startswith("_sp_id.") and c["domain"] == "localhost"]
    return cookie


def calls(report: dict, method: str, step: str | None = None) -> list[dict]:
    return [x for x in report["exchanges"] if x["method"] == method and (step is None or x["step"] == step)]


def assert_collector_cookie(cookie: dict | None) -> None:
    """The `sp` cookie as the browser stored it, with the attributes the service promises."""
    assert cookie is not None, "the browser holds no sp cookie from the collector"
    assert cookie["httpOnly"] is True
    assert cookie["secure"] is True
    assert cookie["sameSite"] == "None"
    assert cookie["path"] == "/"
    assert abs(cookie["expires"] - (time.time() + YEAR_S)) < 3600


def assert_cors_answer(exchange: dict, page_origin: str) -> None:
    headers = exchange["responseHeaders"]
    assert headers["access-control-allow-origin"] == page_origin
    assert headers["access-control-allow-credentials"] == "true"


def assert_preflight_allows(preflight: dict, page_origin: str) -> None:
    """A preflight answered 200 that allows the method and every header the browser asked for."""
    assert preflight["status"] == 200, preflight
    assert "failed" not in preflight, preflight
    assert_cors_answer(preflight, page_origin)
    asked = preflight["requestHeaders"]
    answer = preflight["responseHeaders"]
    allowed_methods = {m.strip().upper() for m in answer["access-control-allow-methods"].split(",")}
    assert asked["access-control-request-method"].upper() in allowed_methods
    allowed_headers = {h.strip().lower() for h in answer["access-control-allow-headers"].split(",")}
    assert answer["access-control-max-age"] == "3600"
    for header in asked["access-control-request-headers"].split(","):
        assert header.strip().lower() in allowed_headers, (header, answer)


def assert_identified_session(report: dict, page_origin: str, collector, method: str) -> None:
    """Scenarios 1 and 2: two page loads in one browser, linked by the collector's cookie."""
    assert collector.bad() == []
    first, second = events = sorted(collector.good(), key=lambda e: e["collector_tstamp"])
    assert [e["event"] for e in events] == ["page_view", "page_view"]

    # The cookie: set on the first answer, with its attributes; sent back on the second load.
    cookie = jar(report["cookiesAfterFirst"], "sp")
    assert_collector_cookie(cookie)
    assert first["network_userid"] == cookie["value"]
    [second_call] = [x for x in calls(report, method.upper(), "second page")]
    assert f"sp={cookie['value']}" in second_call["cookiesSent"]
    assert second["network_userid"] == cookie["value"]
    assert_collector_cookie(jar(report["cookiesAfterSecond"], "sp"))
    assert jar(report["cookiesAfterSecond"], "sp")["value"] == cookie["value"]
    for event in events:
        assert event["user_ipaddress"] == "127.0.0.1"

    # The tracker's own ids pass through untouched, and client_session (validated) agrees with them.
    assert report["firstIds"]["domainUserId"] == report["secondIds"]["domainUserId"]
    assert tracker_id_cookie(report["cookiesAfterSecond"])["value"].split(".")[0] == report["firstIds"]["domainUserId"]
    for event, ids in ((first, report["firstIds"]), (second, report["secondIds"])):
        assert event.get("domain_userid") == ids["domainUserId"]
        assert event.get("domain_sessionid") == ids["domainSessionId"]
        assert event.get("domain_sessionidx") == ids["domainSessionIndex"]
        [session] = entities(event, CLIENT_SESSION)
        assert session["userId"] == ids["domainUserId"]
        assert session["sessionId"] == ids["domainSessionId"]
        assert session["sessionIndex"] == ids["domainSessionIndex"]
        assert session["storageMechanism"] == "COOKIE_1"
        [web_page] = entities(event, WEB_PAGE)
        assert web_page["id"]
        assert event["app_id"] == "e2e-browser"
        assert event["platform"] == "web"
        assert event["page_url"] == f"{page_origin}/"
    assert first["domain_sessionid"] == second["domain_sessionid"]
    assert entities(first, CLIENT_SESSION)[0]["firstEventId"] == first["event_id"]

    # Every tracking request crossed origins and was answered with CORS that admits credentials.
    tracking = calls(report, method.upper())
    assert len(tracking) == 2
    for exchange in tracking:
        assert exchange["status"] == 200 and "failed" not in exchange, exchange
        assert_cors_answer(exchange, page_origin)
        assert exchange["blockedCookies"] == []


def test_post_with_session_entity(collector, page_origin):
    report = run_scenario("post", page_origin, collector)
    assert_identified_session(report, page_origin, collector, "post")
    for exchange in calls(report, "POST"):
        assert urlsplit(exchange["url"]).path == TP2
    # application/json is not a CORS-safelisted content type: the browser asked first.
    preflights = calls(report, "OPTIONS")
    assert preflights, "no CORS preflight was seen before the POST"
    for preflight in preflights:
        assert preflight["requestHeaders"]["access-control-request-method"] == "POST"
        assert "content-type" in preflight["requestHeaders"]["access-control-request-headers"]
        assert_preflight_allows(preflight, page_origin)


def test_get_through_the_pixel(collector, page_origin):
    report = run_scenario("get", page_origin, collector)
    assert_identified_session(report, page_origin, collector, "get")
    for exchange in calls(report, "GET"):
        assert urlsplit(exchange["url"]).path == "/i"
        assert exchange["responseHeaders"]["content-type"] == "image/gif"
    assert calls(report, "OPTIONS") == []  # a GET with no custom header is a simple request


@pytest.mark.parametrize("method", ["post", "get"])
def test_server_side_anonymisation(collector, page_origin, method):
    report = run_scenario("server-anonymisation", page_origin, collector, anonymousMethod=method)
    assert collector.bad() == []
    events = sorted(collector.good(), key=lambda e: e["collector_tstamp"])
    assert [e["event"] for e in events] == ["page_view", "page_view", "struct"]
    identified, anonymous = events[0], events[1:]

    # The earlier page left a cookie, and the browser still sends it with the anonymous requests.
    cookie = jar(report["cookiesBefore"], "sp")
    assert_collector_cookie(cookie)
    assert identified["network_userid"] == cookie["value"]
    anonymous_calls = calls(report, method.upper(), "anonymous page")
    assert len(anonymous_calls) == 2
    for exchange in anonymous_calls:
        assert exchange["requestHeaders"]["sp-anonymous"] == "*"
        assert exchange["status"] == 200, exchange
        assert_cors_answer(exchange, page_origin)
    assert f"sp={cookie['value']}" in anonymous_calls[0]["cookiesSent"]

    # The custom header needs the preflight's permission, on the pixel path as on tp2. (Chromium
    # caches a preflight per URL: the POSTs share one, each GET's query string asks anew.)
    preflights = calls(report, "OPTIONS", "anonymous page")
    assert preflights, "no CORS preflight was seen before the SP-Anonymous requests"
    for preflight in preflights:
        assert urlsplit(preflight["url"]).path == urlsplit(anonymous_calls[0]["url"]).path
        assert "sp-anonymous" in preflight["requestHeaders"]["access-control-request-headers"].lower()
        assert_preflight_allows(preflight, page_origin)

    # Nothing the collector would add: no IP, no network user id.
    for event in anonymous:
        assert "user_ipaddress" not in event, event
        assert "network_userid" not in event, event

    # The answer expired the cookie, and the browser dropped it.
    set_cookie = anonymous_calls[0]["responseHeaders"].get("set-cookie", "")
    assert set_cookie.startswith("sp=;"), f"expected an expired sp cookie, got Set-Cookie: {set_cookie!r}"
    assert jar(report["cookiesAfter"], "sp") is None


def test_disable_anonymous_tracking_at_run_time(collector, page_origin):
    report = run_scenario("disable-anonymous", page_origin, collector)
    assert collector.bad() == []
    events = sorted(collector.good(), key=lambda e: e["collector_tstamp"])
    assert [e["event"] for e in events] == ["page_view", "struct", "page_view"]
    anonymous, identified = events[0], events[1:]

    [anonymous_call] = calls(report, "POST", "anonymous")
    assert anonymous_call["requestHeaders"]["sp-anonymous"] == "*"
    assert "set-cookie" not in anonymous_call["responseHeaders"]
    assert "user_ipaddress" not in anonymous and "network_userid" not in anonymous
    assert jar(report["cookiesWhileAnonymous"], "sp") is None

    identified_calls = calls(report, "POST", "identified")
    assert len(identified_calls) == 2
    for exchange in identified_calls:
        assert "sp-anonymous" not in exchange["requestHeaders"]
    cookie = jar(report["cookiesAfterFirstIdentified"], "sp")
    assert_collector_cookie(cookie)
    assert f"sp={cookie['value']}" in identified_calls[1]["cookiesSent"]
    assert jar(report["cookiesAfter"], "sp")["value"] == cookie["value"]
    for event in identified:
        assert event["network_userid"] == cookie["value"]
        assert event["user_ipaddress"] == "127.0.0.1"
        assert event.get("domain_userid") == report["ids"]["domainUserId"]


def test_schema_violation_fails_only_its_event(collector, page_origin):
    report = run_scenario("bad-event-in-batch", page_origin, collector)
    [batch] = calls(report, "POST")
    assert batch["status"] == 200
    assert report["delivery"]["batches"] == [3]  # one request carried all three events

    good = sorted(collector.good(), key=lambda e: e["dvce_created_tstamp"])
    assert [e["event"] for e in good] == ["page_view", "struct"]
    [bad] = collector.bad()
    assert bad["schema"] == "iglu:com.snowplowanalytics.snowplow.badrows/schema_violations/jsonschema/2-0-1"
    raw = {p["name"]: p["value"] for p in bad["data"]["payload"]["raw"]["parameters"]}
    assert raw["e"] == "ue"
    assert "link_click" in raw["ue_pr"]
    messages = str(bad["data"]["failure"]["messages"])
    assert "link_click" in messages
    # The bad event was the middle one: the good ones share its network user id and request.
    assert {e["network_userid"] for e in good} == {bad["data"]["payload"]["raw"]["userId"]}
