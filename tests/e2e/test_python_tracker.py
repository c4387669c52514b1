"""End to end with the official Python tracker (snowplow-tracker 1.1.0) against the real service.

The tracker is used as an application would use it: the synchronous `Emitter` (GET or POST), a
`Subject`, the event classes, and `flush()`. The Emitter takes a `requests.Session`, which is how
the tests add the `SP-Anonymous` header and see each HTTP response (a response hook); no tracker
class is subclassed or patched.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from snowplow_tracker import Emitter, SelfDescribingJson, Subject, Tracker
from snowplow_tracker.events import PageView, SelfDescribing, StructuredEvent

SNOWPLOW = "iglu:com.snowplowanalytics.snowplow"
CLIENT_SESSION = f"{SNOWPLOW}/client_session/jsonschema/1-0-2"
LINK_CLICK = f"{SNOWPLOW}/link_click/jsonschema/1-0-1"
CONTEXTS = f"{SNOWPLOW}/contexts/jsonschema/1-0-1"
UNSTRUCT_EVENT = f"{SNOWPLOW}/unstruct_event/jsonschema/1-0-0"
SCHEMA_VIOLATIONS = "iglu:com.snowplowanalytics.snowplow.badrows/schema_violations/jsonschema/2-0-1"
METHODS = ["get", "post"]


class Wire:
    """The tracker's HTTP side: the requests session it sends with, and every response it got."""

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        self.session = requests.Session()
        self.session.headers.update(headers or {})
        self.responses: list[requests.Response] = []
        self.session.hooks["response"].append(lambda response, *args, **kwargs: self.responses.append(response))
        self.failures: list[Any] = []

    def issued_cookies(self) -> list[str]:
        """The `sp` value of every response, in order (the collector sets it on each)."""
        return [response.cookies["sp"] for response in self.responses]


def make_tracker(collector, method: str, wire: Wire, subject: Subject | None = None) -> Tracker:
    emitter = Emitter(
        "127.0.0.1",
        protocol="http",
        port=collector.port,
        method=method,
        batch_size=10 if method == "post" else 1,  # POST: one batch per flush; GET: one request per event
        on_failure=lambda sent, unsent: wire.failures.append(unsent),
        session=wire.session,
    )
    return Tracker("e2e", emitter, subject=subject, app_id="shop")


def send(tracker: Tracker, wire: Wire, *events) -> list[str]:
    """Track the events, flush, and return their event ids."""
    event_ids = [tracker.track(event) for event in events]
    tracker.flush()
    assert wire.failures == []
    assert wire.responses and all(response.status_code == 200 for response in wire.responses)
    return event_ids


def client_session(**overrides: Any) -> SelfDescribingJson:
    data = {
        "userId": str(uuid.uuid4()),
        "sessionId": str(uuid.uuid4()),
        "sessionIndex": 4,
        "eventIndex": 1,
        "previousSessionId": None,
        "storageMechanism": "SQLITE",
        "firstEventId": str(uuid.uuid4()),
        "firstEventTimestamp": "2026-11-28T10:00:00.000Z",
        **overrides,
    }
    return SelfDescribingJson(CLIENT_SESSION, data)


def by_event_id(records: list[dict]) -> dict[str, dict]:
    return {record["event_id"]: record for record in records}


# --- a Subject with every id, three kinds of event ---------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_page_view_structured_and_self_describing_events_arrive_with_every_subject_id(collector, method):
    ids = {"duid": str(uuid.uuid4()), "nuid": str(uuid.uuid4()), "sid": str(uuid.uuid4())}
    subject = (
        Subject()
        .set_platform("web")
        .set_user_id("alice@example.com")
        .set_ip_address("203.0.113.9")
        .set_domain_user_id(ids["duid"])
        .set_network_user_id(ids["nuid"])
        .set_domain_session_id(ids["sid"])
        .set_domain_session_index(4)
    )
    session = client_session(sessionId=ids["sid"])
    link = SelfDescribingJson(LINK_CLICK, {"targetUrl": "https://shop.example/next", "elementId": "next"})
    wire = Wire()
    tracker = make_tracker(collector, method, wire, subject)

    page_view_id, struct_id, link_click_id = send(
        tracker,
        wire,
        PageView(
            page_url="https://shop.example/basket?step=2",
            page_title="Basket",
            referrer="https://search.example/",
            context=[session],
        ),
        StructuredEvent(
            category="checkout", action="add", label="sku-1", property_="size-42", value=2.5, context=[session]
        ),
        SelfDescribing(link, context=[session]),
    )

    assert collector.bad() == []
    events = by_event_id(collector.good())
    assert set(events) == {page_view_id, struct_id, link_click_id}
    for event in events.values():
        assert event["user_ipaddress"] == "203.0.113.9"
        assert event["network_userid"] == ids["nuid"]
        assert event["domain_userid"] == ids["duid"]
        assert event["domain_sessionid"] == ids["sid"]
        assert event["domain_sessionidx"] == 4
        assert event["user_id"] == "alice@example.com"
        assert (event["app_id"], event["platform"], event["name_tracker"]) == ("shop", "web", "e2e")
        assert event["v_tracker"] == "py-1.1.0"
        assert event["contexts"] == {"schema": CONTEXTS, "data": [session.to_json()]}
        assert "dvce_created_tstamp" in event and "dvce_sent_tstamp" in event

    page_view = events[page_view_id]
    assert page_view["event"] == "page_view"
    assert (page_view["event_vendor"], page_view["event_name"]) == ("com.snowplowanalytics.snowplow", "page_view")
    assert page_view["page_url"] == "https://shop.example/basket?step=2"
    assert (page_view["page_title"], page_view["page_referrer"]) == ("Basket", "https://search.example/")
    assert (page_view["page_urlhost"], page_view["page_urlpath"], page_view["page_urlquery"]) == (
        "shop.example",
        "/basket",
        "step=2",
    )

    struct = events[struct_id]
    assert (struct["event"], struct["event_vendor"], struct["event_name"]) == (
        "struct",
        "com.google.analytics",
        "event",
    )
    se_fields = (struct["se_category"], struct["se_action"], struct["se_label"], struct["se_property"])
    assert se_fields == ("checkout", "add", "sku-1", "size-42")
    assert struct["se_value"] == 2.5
    assert "unstruct_event" not in struct

    click = events[link_click_id]
    assert click["event"] == "unstruct"
    assert (click["event_vendor"], click["event_name"], click["event_format"], click["event_version"]) == (
        "com.snowplowanalytics.snowplow",
        "link_click",
        "jsonschema",
        "1-0-1",
    )
    assert click["unstruct_event"] == {"schema": UNSTRUCT_EVENT, "data": link.to_json()}
    assert not any(key.startswith("se_") for key in click)

    # The tracker's network user id changes the events, never the browser's cookie.
    assert ids["nuid"] not in wire.issued_cookies()


@pytest.mark.parametrize("method", METHODS)
def test_invalid_client_session_becomes_a_schema_violation_naming_the_property(collector, method):
    wire = Wire()
    tracker = make_tracker(collector, method, wire, Subject().set_user_id("bob"))

    good_id, bad_id = send(
        tracker,
        wire,
        PageView(page_url="https://shop.example/", context=[client_session()]),
        PageView(page_url="https://shop.example/", context=[client_session(sessionIndex=-1)]),
    )

    assert [event["event_id"] for event in collector.good()] == [good_id]
    [row] = collector.bad()
    assert row["schema"] == SCHEMA_VIOLATIONS
    [message] = row["data"]["failure"]["messages"]
    assert message["schemaKey"] == CLIENT_SESSION
    assert message["error"]["error"] == "ValidationError"
    [report] = message["error"]["dataReports"]
    assert "sessionIndex" in report["path"]
    assert "sessionIndex" in report["message"]
    raw = {p["name"]: p["value"] for p in row["data"]["payload"]["raw"]["parameters"]}
    assert (raw["eid"], raw["uid"], raw["e"]) == (bad_id, "bob", "pv")  # the event is kept for recovery


# --- what the collector adds when the tracker does not set it ----------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_without_ip_or_network_userid_the_collector_fills_them_from_the_connection_and_its_cookie(collector, method):
    wire = Wire()
    tracker = make_tracker(collector, method, wire, Subject().set_domain_user_id("d-1"))

    [event_id] = send(tracker, wire, PageView(page_url="https://shop.example/", context=[client_session()]))

    [event] = collector.good()
    assert event["event_id"] == event_id
    assert event["user_ipaddress"] == "127.0.0.1"
    [cookie] = wire.issued_cookies()
    assert event["network_userid"] == cookie
    assert uuid.UUID(cookie)
    assert event["contexts"]["data"][0]["schema"] == CLIENT_SESSION


@pytest.mark.parametrize("method", METHODS)
def test_with_sp_anonymous_the_event_has_no_ip_and_no_network_userid(collector, method):
    wire = Wire(headers={"SP-Anonymous": "*"})
    tracker = make_tracker(collector, method, wire, Subject().set_user_id("carol").set_domain_user_id("d-2"))

    send(tracker, wire, PageView(page_url="https://shop.example/", context=[client_session()]))

    [event] = collector.good()
    assert "user_ipaddress" not in event
    assert "network_userid" not in event
    assert (event["user_id"], event["domain_userid"]) == ("carol", "d-2")  # what the tracker set stays
    assert all("set-cookie" not in response.headers for response in wire.responses)


@pytest.mark.parametrize("method", METHODS)
def test_a_tracker_session_that_keeps_cookies_keeps_one_network_userid(collector_factory, method):
    # requests, like browsers, sends a Secure cookie only over https: a plain-http cookie here.
    collector = collector_factory(env={"COLLECTOR_COOKIE_SECURE": "false", "COLLECTOR_COOKIE_SAME_SITE": "Lax"})
    wire = Wire()
    tracker = make_tracker(collector, method, wire)

    first = send(tracker, wire, PageView(page_url="https://shop.example/1"))
    second = send(tracker, wire, PageView(page_url="https://shop.example/2"))

    events = by_event_id(collector.good())
    cookies = wire.issued_cookies()
    assert len(cookies) == 2 and cookies[0] == cookies[1]
    assert [events[event_id]["network_userid"] for event_id in first + second] == cookies
