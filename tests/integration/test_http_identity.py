"""docs/behaviour.md#identity as an HTTP client sees it: the `sp` cookie, SP-Anonymous, and the client address."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from http_support import (
    SCHEMA_VIOLATIONS,
    assert_valid_bad_row,
    page_view,
    pixel,
    post,
    set_cookies,
    the_set_cookie,
)

ANONYMOUS = {"SP-Anonymous": "*"}


def _about(when: datetime, expected: datetime, slack: timedelta = timedelta(minutes=5)) -> bool:
    return abs(when - expected) <= slack


# --- the sp cookie ------------------------------------------------------------------------


def test_new_visitor_gets_a_year_long_cookie_with_browser_safe_attributes(collector):
    response = pixel(collector.url, page_view())

    cookie = the_set_cookie(response)
    assert cookie.name == "sp"
    assert uuid.UUID(cookie.value)
    assert _about(cookie.expires, datetime.now(UTC) + timedelta(days=365))
    assert cookie.attributes["path"] == "/"
    assert cookie.attributes["samesite"] == "None"
    assert cookie.attributes["secure"] is True
    assert cookie.attributes["httponly"] is True
    assert "domain" not in cookie.attributes  # none configured


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(lambda url, h: pixel(url, page_view(), h), id="GET"),
        pytest.param(lambda url, h: post(url, page_view(), headers=h), id="POST"),
    ],
)
def test_new_visitor_network_userid_is_the_issued_cookie(collector, send):
    response = send(collector.url, {})

    [event] = collector.good()
    assert event["network_userid"] == the_set_cookie(response).value


def test_returning_visitor_keeps_the_id_of_the_cookie_it_sends_back(collector):
    first = pixel(collector.url, page_view())
    visitor = the_set_cookie(first).value

    second = pixel(collector.url, page_view(), headers={"Cookie": f"other=1; sp={visitor}"})

    assert [e["network_userid"] for e in collector.good()] == [visitor, visitor]
    assert the_set_cookie(second).value == visitor  # re-issued, so its expiry moves forward


@pytest.mark.parametrize("junk", ["not-a-uuid", "", "12345678-1234-1234-1234-1234567890zz"])
def test_a_cookie_that_is_not_a_uuid_is_replaced_by_a_new_id(collector, junk):
    response = pixel(collector.url, page_view(), headers={"Cookie": f"sp={junk}"})

    [event] = collector.good()
    issued = the_set_cookie(response).value
    assert issued != junk
    assert uuid.UUID(issued)
    assert event["network_userid"] == issued


def test_tracker_set_network_userid_changes_the_event_not_the_cookie(collector):
    visitor = str(uuid.uuid4())
    tracker_id = str(uuid.uuid4())

    response = pixel(collector.url, page_view(tnuid=tracker_id), headers={"Cookie": f"sp={visitor}"})

    [event] = collector.good()
    assert event["network_userid"] == tracker_id
    assert the_set_cookie(response).value == visitor


@pytest.mark.parametrize(
    "origin, domain",
    [
        ("https://acme.com", "acme.com"),
        ("https://www.acme.com", "acme.com"),
        ("https://shop.eu.acme.com:8443", "acme.com"),
        ("https://acme.org", "acme.org"),
        ("https://notacme.com", None),
        ("https://acme.com.evil.example", None),
        ("null", None),
    ],
)
def test_cookie_domain_is_chosen_by_the_origin(collector_factory, origin, domain):
    collector = collector_factory(env={"COLLECTOR_COOKIE_DOMAINS": '["acme.com", "acme.org"]'})

    response = pixel(collector.url, page_view(), headers={"Origin": origin})

    assert the_set_cookie(response).attributes.get("domain") == domain


@pytest.mark.parametrize("origin", [None, "https://elsewhere.example", "http://["])
def test_cookie_falls_back_to_the_configured_domain(collector_factory, origin):
    collector = collector_factory(
        env={"COLLECTOR_COOKIE_DOMAINS": '["acme.com"]', "COLLECTOR_COOKIE_FALLBACK_DOMAIN": "fallback.example"}
    )

    response = pixel(collector.url, page_view(), headers={"Origin": origin} if origin else {})

    assert response.status_code == 200
    assert the_set_cookie(response).attributes.get("domain") == "fallback.example"


def test_cookie_can_be_switched_off(collector_factory):
    collector = collector_factory(env={"COLLECTOR_COOKIE_ENABLED": "false"})

    response = pixel(collector.url, page_view())

    assert set_cookies(response) == []
    [event] = collector.good()
    assert uuid.UUID(event["network_userid"])  # the event still gets an id


# --- SP-Anonymous -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(lambda url, h: pixel(url, page_view(), h), id="GET"),
        pytest.param(lambda url, h: post(url, page_view(), headers=h), id="POST"),
    ],
)
def test_anonymous_request_gets_no_cookie_and_stores_no_ip_or_network_userid(collector, send):
    response = send(collector.url, {**ANONYMOUS, "X-Forwarded-For": "203.0.113.7"})

    assert response.status_code == 200
    assert set_cookies(response) == []
    [event] = collector.good()
    assert "user_ipaddress" not in event
    assert "network_userid" not in event


def test_anonymous_request_with_an_sp_cookie_gets_it_expired_and_the_id_is_not_used(collector):
    visitor = str(uuid.uuid4())

    response = pixel(collector.url, page_view(), headers={**ANONYMOUS, "Cookie": f"sp={visitor}"})

    cookie = the_set_cookie(response)
    assert cookie.name == "sp"
    assert cookie.value != visitor
    assert cookie.expires < datetime.now(UTC)
    assert cookie.attributes["path"] == "/"  # same path, or the browser would keep the old cookie
    [event] = collector.good()
    assert "network_userid" not in event
    assert "user_ipaddress" not in event


def test_the_expiring_cookie_has_the_domain_of_the_cookie_it_replaces(collector_factory):
    collector = collector_factory(env={"COLLECTOR_COOKIE_DOMAINS": '["acme.com"]'})
    headers = {**ANONYMOUS, "Origin": "https://www.acme.com", "Cookie": f"sp={uuid.uuid4()}"}

    response = pixel(collector.url, page_view(), headers=headers)

    cookie = the_set_cookie(response)
    assert cookie.expires < datetime.now(UTC)
    assert cookie.attributes["domain"] == "acme.com"  # else the browser keeps the domain cookie


def test_anonymous_request_keeps_what_the_tracker_itself_sent(collector):
    tracker_id = str(uuid.uuid4())

    pixel(collector.url, page_view(ip="198.51.100.23", tnuid=tracker_id, uid="alice", duid="d-1"), headers=ANONYMOUS)

    [event] = collector.good()
    assert event["user_ipaddress"] == "198.51.100.23"
    assert event["network_userid"] == tracker_id
    assert (event["user_id"], event["domain_userid"]) == ("alice", "d-1")


def test_anonymous_bad_row_keeps_no_identifying_header(collector):
    visitor = str(uuid.uuid4())
    headers = {
        **ANONYMOUS,
        "Cookie": f"sp={visitor}",
        "X-Forwarded-For": "203.0.113.7",
        "X-Real-IP": "203.0.113.7",
        "Forwarded": "for=203.0.113.7",
    }

    response = pixel(collector.url, page_view(vid="not-a-number"), headers=headers)

    assert response.status_code == 200
    [row] = collector.bad()
    assert row["schema"] == SCHEMA_VIOLATIONS
    assert_valid_bad_row(row)
    text = str(row)
    assert visitor not in text
    assert "203.0.113.7" not in text
    names = {header.split(":", 1)[0].lower() for header in row["data"]["payload"]["raw"]["headers"]}
    assert not names & {"cookie", "x-forwarded-for", "x-real-ip", "forwarded"}


# --- the client address -------------------------------------------------------------------------


def test_direct_client_is_the_tcp_peer(collector):
    pixel(collector.url, page_view())

    [event] = collector.good()
    assert event["user_ipaddress"] == "127.0.0.1"


@pytest.mark.parametrize(
    "forwarded_for, client",
    [
        ("203.0.113.7", "203.0.113.7"),
        # the client forged the left entry; our trusted proxies appended the rest
        ("6.6.6.6, 203.0.113.7, 10.1.2.3", "203.0.113.7"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("[2001:db8::7]:4711", "2001:db8::7"),
    ],
)
def test_behind_a_trusted_proxy_the_client_comes_from_x_forwarded_for(collector, forwarded_for, client):
    pixel(collector.url, page_view(), headers={"X-Forwarded-For": forwarded_for})

    [event] = collector.good()
    assert event["user_ipaddress"] == client


def test_behind_a_trusted_proxy_rfc7239_forwarded_is_read_too(collector):
    pixel(collector.url, page_view(), headers={"Forwarded": 'for="[2001:db8::9]:80";proto=https, for=10.0.0.2'})

    [event] = collector.good()
    assert event["user_ipaddress"] == "2001:db8::9"


def test_from_an_untrusted_peer_x_forwarded_for_is_ignored(collector_factory):
    collector = collector_factory(env={"COLLECTOR_TRUSTED_PROXIES": '["10.0.0.0/8"]'})

    pixel(collector.url, page_view(), headers={"X-Forwarded-For": "203.0.113.7", "Forwarded": "for=198.51.100.1"})

    [event] = collector.good()
    assert event["user_ipaddress"] == "127.0.0.1"


def test_tracker_ip_parameter_wins_over_the_derived_address(collector):
    pixel(collector.url, page_view(ip="198.51.100.23, 10.0.0.1"), headers={"X-Forwarded-For": "203.0.113.7"})

    [event] = collector.good()
    assert event["user_ipaddress"] == "198.51.100.23"
