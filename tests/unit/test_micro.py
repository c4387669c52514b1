"""The Micro store, its API shapes and its filters, over events collected by the real pipeline."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from app import __main__ as cli
from app.config import ConfigError, Settings, load_settings
from app.formats import FIELDS
from app.micro.query import Filters, QueryError, read_bad, read_events_query, read_good, select
from app.micro.store import MicroStore
from app.micro.views import Views
from app.request import CollectorRequest
from app.wiring import build_pipeline

SNOWPLOW = "com.snowplowanalytics.snowplow"
LINK_CLICK = f"iglu:{SNOWPLOW}/link_click/jsonschema/1-0-1"
WEB_PAGE = f"iglu:{SNOWPLOW}/web_page/jsonschema/1-0-0"
MINUTE_MS = 60_000


def self_describing(schema: str, data: Any) -> str:
    return orjson.dumps(
        {"schema": f"iglu:{SNOWPLOW}/unstruct_event/jsonschema/1-0-0", "data": {"schema": schema, "data": data}}
    ).decode()


def with_web_page() -> str:
    entity = {"schema": WEB_PAGE, "data": {"id": str(uuid.uuid4())}}
    return orjson.dumps({"schema": f"iglu:{SNOWPLOW}/contexts/jsonschema/1-0-1", "data": [entity]}).decode()


# Each: (name, parameters, minutes after the first event). One request each, sent by GET.
EVENTS = [
    ("shop view", {"e": "pv", "aid": "shop", "url": "https://shop.example/cart", "co": with_web_page()}, 0),
    ("blog click", {"e": "se", "aid": "blog", "se_ca": "nav", "se_ac": "click"}, 1),
    ("link", {"e": "ue", "aid": "shop", "ue_pr": self_describing(LINK_CLICK, {"targetUrl": "https://a.example/"})}, 2),
    ("broken link", {"e": "ue", "aid": "shop", "ue_pr": self_describing(LINK_CLICK, {"targetUrl": ""})}, 3),
    ("blog view", {"e": "pv", "aid": "blog", "url": "https://blog.example/Post-1"}, 4),
]


class Held:
    """Events collected by the real pipeline into a store, and the views over them."""

    def __init__(self, registry: Any, make_request: Callable[..., CollectorRequest], capacity: int = 100) -> None:
        settings = Settings(micro_events=capacity, micro_on_tracking_port=True, workers=1)
        self.pipeline = build_pipeline(settings, registry, "memory")
        self.store = MicroStore(capacity)
        self.views = Views(self.pipeline.badrows, self.pipeline.enricher.v_collector)
        self.make_request = make_request
        self.ids: dict[str, str] = {}

    def send(self, name: str, params: dict[str, str], minutes: int = 0, **request: Any) -> None:
        eid = str(uuid.uuid4())
        self.ids[name] = eid
        built = self.make_request(query=urlencode({**params, "eid": eid, "p": "web"}), **request)
        built.received_ms += minutes * MINUTE_MS
        self.store.add(self.pipeline.collect(built).observed)

    def names(self, entries: Any) -> list[str]:
        by_id = {eid: name for name, eid in self.ids.items()}
        return [by_id.get((entry.seen.event or {}).get("event_id"), "?") for entry in entries]


@pytest.fixture
def held(registry, make_request) -> Held:
    held = Held(registry, make_request)
    for name, params, minutes in EVENTS:
        held.send(name, params, minutes)
    return held


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, ["blog view", "link", "blog click", "shop view"]),  # newest first, good only
        ({"event_type": "page_view"}, ["blog view", "shop view"]),
        ({"event_type": "pv"}, ["blog view", "shop view"]),  # the tracker's code works too
        ({"event_type": "unstruct"}, ["link"]),
        ({"schema": LINK_CLICK}, ["link"]),
        ({"schema": LINK_CLICK.removeprefix("iglu:")}, ["link"]),
        ({"contexts": [WEB_PAGE.removeprefix("iglu:")]}, ["shop view"]),
        ({"contexts": [WEB_PAGE, f"iglu:{SNOWPLOW}/client_session/jsonschema/1-0-2"]}, []),  # all must be there
        ({"limit": 2}, ["blog view", "link"]),
        ({"limit": 0}, []),
        ({"app_id": "blog"}, ["blog view", "blog click"]),
        ({"text": "post-1"}, ["blog view"]),  # free text, case-insensitive, over the enriched event
        ({"text": "a.example"}, ["link"]),
        ({"timeRange": {"start": "2023-11-14T22:14:20Z"}}, ["blog view", "link", "blog click"]),
        (
            {"timeRange": {"start": "2023-11-14T22:14:20Z", "end": "2023-11-14T22:17:20.000+00:00"}},
            ["link", "blog click"],
        ),
        ({"event_type": "page_view", "app_id": "shop", "limit": 5}, ["shop view"]),
    ],
)
def test_good_filters(held, body, expected):
    filters, limit = read_good(body)
    assert held.names(select(held.store.newest_first(), filters, held.views, limit)) == expected


def test_live_updates_get_only_what_arrived_after_the_last_look(held):
    newer = select(held.store.newest_first(), Filters(valid=True, after_seq=2), held.views)
    assert held.names(newer) == ["blog view", "link"]
    assert list(select(held.store.newest_first(), Filters(after_seq=held.store.last_seq), held.views)) == []


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("link_click", ["broken link", "link"]),  # a failed event by the name it was sent with
        ("pv", ["blog view", "shop view"]),
        ("struct", ["blog click"]),
        ("unstruct", []),  # the column shows the self-describing event's own name
    ],
)
def test_inspector_type_column_filter(held, kind, expected):
    assert held.names(select(held.store.newest_first(), Filters(kind=kind), held.views)) == expected


def test_good_filter_by_event_id(held):
    filters, _ = read_good({"event_id": held.ids["link"].upper()})
    assert held.names(select(held.store.newest_first(), filters, held.views)) == ["link"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, ["broken link"]),
        ({"version": "tp1"}, ["broken link"]),  # sent to /i
        ({"version": "tp2"}, []),
        ({"vendor": SNOWPLOW, "limit": 1}, ["broken link"]),
        ({"vendor": "com.acme"}, []),
        ({"text": "targeturl"}, ["broken link"]),
    ],
)
def test_bad_filters(held, body, expected):
    filters, limit = read_bad(body)
    assert held.names(select(held.store.newest_first(), filters, held.views, limit)) == expected


@pytest.mark.parametrize(
    ("read", "body", "problem"),
    [
        (read_good, {"event-type": "pv"}, "unknown filter event-type"),
        (read_good, {"limit": -1}, "limit must be a whole number"),
        (read_good, {"limit": "3"}, "limit must be a whole number"),
        (read_good, {"contexts": WEB_PAGE}, "contexts must be a list of strings"),
        (read_good, [1, 2], "expected a JSON object"),
        (read_good, {"timeRange": {"start": "yesterday"}}, "timeRange.start is not an ISO-8601 time"),
        (read_bad, {"schema": LINK_CLICK}, "unknown filter schema"),
        (read_events_query, {"pageSize": 10}, "page and pageSize"),
        (read_events_query, {"page": 1, "pageSize": 10, "filters": [{"column": "nope", "value": "x"}]}, "'nope'"),
        (
            read_events_query,
            {"page": 1, "pageSize": 10, "sorting": {"column": "app_id", "desc": "up"}},
            "sorting.desc must be true or false",
        ),
        (read_events_query, {"page": 1, "pageSize": 10, "validEvents": "yes"}, "validEvents"),
        (  # Micro's sorting is {column, desc}: a direction is not read as if it were
            read_events_query,
            {"page": 1, "pageSize": 10, "sorting": {"column": "app_id", "direction": "asc"}},
            "unknown filter direction",
        ),
    ],
)
def test_unreadable_filters_are_named(read, body, problem):
    with pytest.raises(QueryError, match=problem):
        read(body)


def page_of(held: Held, body: dict[str, Any]) -> tuple[list[str], int]:
    query = read_events_query(body)
    found = list(select(held.store.newest_first(), query.filters, held.views))
    if query.sort_column != "collector_tstamp" or not query.descending:
        found.sort(key=lambda e: str(held.views.canonical(e)[query.sort_column]), reverse=query.descending)
    start = (query.page - 1) * query.page_size
    return held.names(found[start : start + query.page_size]), len(found)


@pytest.mark.parametrize(
    ("body", "expected", "total"),
    [
        ({"page": 1, "pageSize": 2, "filters": []}, ["blog view", "broken link"], 5),
        ({"page": 3, "pageSize": 2, "filters": []}, ["shop view"], 5),
        (
            {"page": 1, "pageSize": 10, "filters": [{"column": "app_id", "value": "SHO"}]},
            ["broken link", "link", "shop view"],
            3,
        ),
        ({"page": 1, "pageSize": 10, "filters": [], "validEvents": False}, ["broken link"], 1),
        ({"page": 1, "pageSize": 10, "filters": [{"column": "page_urlhost", "value": "blog"}]}, ["blog view"], 1),
        (
            {"page": 1, "pageSize": 2, "filters": [], "sorting": {"column": "collector_tstamp", "desc": False}},
            ["shop view", "blog click"],
            5,
        ),
    ],
)
def test_events_query_pages(held, body, expected, total):
    assert page_of(held, body) == (expected, total)


def test_the_store_keeps_the_newest_and_counts_what_it_holds(registry, make_request):
    held = Held(registry, make_request, capacity=3)
    for name, params, minutes in EVENTS:
        held.send(name, params, minutes)
    assert held.names(held.store.newest_first()) == ["blog view", "broken link", "link"]
    assert held.store.summary() == {"total": 3, "good": 2, "bad": 1}
    assert held.store.find(held.store.last_seq).seen.event["event_id"] == held.ids["blog view"]
    assert held.store.find(1) is None  # dropped
    held.store.reset()
    assert held.store.summary() == {"total": 0, "good": 0, "bad": 0}
    assert held.store.newest_first() == []


def test_good_event_has_micro_shape_with_every_atomic_field(held):
    [link] = [e for e in held.store.newest_first() if held.names([e]) == ["link"]]
    good = held.views.good_event(link)
    assert set(good) == {"rawEvent", "eventType", "schema", "contexts", "event", "incomplete"}
    assert good["eventType"] == "unstruct"
    assert good["schema"] == LINK_CLICK
    assert list(good["event"]) == list(FIELDS)  # all 131, in the canonical order
    assert good["event"]["geo_country"] is None
    assert good["event"]["unstruct_event"]["data"]["data"] == {"targetUrl": "https://a.example/"}
    raw = good["rawEvent"]
    assert raw["api"] == {"vendor": SNOWPLOW, "version": "tp1"}
    assert raw["parameters"]["e"] == "ue"
    assert raw["source"]["hostname"] == "collector.example"
    assert raw["context"]["userId"] == good["event"]["network_userid"]


def test_bad_event_carries_bad_row_event_id_and_a_readable_failure(held):
    [broken] = [e for e in held.store.newest_first() if not e.valid]
    bad = held.views.bad_event(broken)
    assert bad["eventId"] == held.ids["broken link"]
    assert bad["badRow"]["schema"].endswith("/schema_violations/jsonschema/2-0-1")
    assert bad["errors"][0].startswith("Schema violation: ")
    assert orjson.loads(bad["errors"][1]) == bad["badRow"]
    assert bad["rawEvent"]["parameters"]["aid"] == "shop"
    assert bad["collectorPayload"]["querystring"][0]["name"] == "e"
    [failure] = held.views.detail(broken)["failures"]
    assert failure["path"] == "$.targetUrl"
    assert failure["schema"] == LINK_CLICK


def test_a_payload_that_is_no_event_is_held_with_what_the_collector_knew(held, make_request):
    request = make_request("POST", body=b"{not json", headers={"Content-Type": "application/json"})
    held.store.add(held.pipeline.collect(request).observed)
    entry = held.store.newest_first()[0]
    bad = held.views.bad_event(entry)
    assert bad["rawEvent"] is None and bad["eventId"] is None
    assert bad["errors"][0].startswith("Tracker protocol violation: invalid JSON")
    assert bad["collectorPayload"]["body"] == "{not json"
    row = held.views.row(entry)
    assert row["valid"] is False and row["user_ipaddress"] == "203.0.113.9"


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"micro_events": 10, "workers": 1}, "COLLECTOR_MICRO_PORT or COLLECTOR_MICRO_TOKEN"),
        ({"micro_port": 9999}, "need COLLECTOR_MICRO_EVENTS"),
        ({"sink": "memory"}, "set COLLECTOR_MICRO_EVENTS"),
        ({"micro_events": 10, "micro_port": 8080, "workers": 1}, "must differ from COLLECTOR_PORT"),
        ({"micro_events": 10, "micro_token": "t" * 20, "workers": 2}, "COLLECTOR_WORKERS=1"),
        ({"micro_events": 10, "micro_token": "short", "workers": 1}, "at least 16 characters"),
    ],
)
def test_micro_is_never_served_by_accident(settings, named):
    with pytest.raises(ConfigError, match=named):
        load_settings(**settings)


def test_micro_command_starts_a_memory_only_collector_on_9090(monkeypatch):
    started: list[Settings] = []
    monkeypatch.setattr(os, "environ", {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")})
    monkeypatch.setattr(cli, "serve", lambda settings: started.append(settings) or 0)
    assert cli.main(["micro"]) == 0
    [settings] = started
    assert (settings.port, settings.sink, settings.micro_events, settings.workers) == (9090, "memory", 10000, 1)
    assert settings.micro_on_tracking_port and settings.micro_port is None and settings.micro_token is None


SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
JSON = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
KNOWN_KEYS = st.sampled_from(
    ["event_type", "schema", "contexts", "limit", "vendor", "version", "event_id", "app_id", "text", "timeRange"]
    + ["page", "pageSize", "filters", "validEvents", "sorting", "start", "end", "column", "value", "desc"]
)
NESTED = (
    SCALAR | st.dictionaries(KNOWN_KEYS, JSON, max_size=3) | st.lists(st.dictionaries(KNOWN_KEYS, JSON), max_size=2)
)
# Past the required page and pageSize, so that what follows them is read too.
PAGED = st.fixed_dictionaries(
    {"page": st.integers(1, 3), "pageSize": st.integers(1, 3)},
    optional={key: NESTED for key in ("filters", "validEvents", "sorting", "timeRange", "text")},
)
BODIES = JSON | st.dictionaries(KNOWN_KEYS, NESTED, max_size=5) | PAGED


@hypothesis_settings(max_examples=300)
@given(BODIES)
def test_any_body_is_read_or_refused_with_a_reason(body):
    for read in (read_good, read_bad, read_events_query):
        try:
            read(body)
        except QueryError as error:
            assert str(error)
