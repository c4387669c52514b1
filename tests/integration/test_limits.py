"""Each limit on one request, exceeded, gives its documented answer: a 4xx, or a bad row."""

from __future__ import annotations

import json

import httpx

TP2 = "/com.snowplowanalytics.snowplow/tp2"
PAYLOAD_DATA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"
CONTEXTS = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0"
WEB_PAGE = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"
REQUEST_LIMITS = {"COLLECTOR_MAX_REQUEST_LINE_BYTES": "400", "COLLECTOR_MAX_HEADER_BYTES": "2048"}
EVENT_LIMITS = {
    "COLLECTOR_MAX_EVENTS_PER_REQUEST": "5",
    "COLLECTOR_MAX_ENTITIES_PER_EVENT": "2",
    "COLLECTOR_MAX_JSON_DEPTH": "10",
}


def contexts(*entities: dict) -> str:
    return json.dumps({"schema": CONTEXTS, "data": list(entities)})


def web_page(n: int) -> dict:
    return {"schema": WEB_PAGE, "data": {"id": f"00000000-0000-4000-8000-00000000000{n}"}}


def only_message(row: dict) -> dict:
    [message] = row["data"]["failure"]["messages"]
    return message


def test_request_limits(collector_factory):
    collector = collector_factory(env=REQUEST_LIMITS)
    long_line = httpx.get(f"{collector.url}/i", params={"e": "pv", "p": "web", "page": "x" * 500})
    assert long_line.status_code == 414 and "400 bytes" in long_line.text
    big_headers = httpx.get(f"{collector.url}/i", params={"e": "pv", "p": "web"}, headers={"X-Padding": "y" * 3000})
    assert big_headers.status_code == 431 and "2048 bytes" in big_headers.text
    assert collector.good() == [] and collector.bad() == []


def test_too_many_events_make_one_bad_row_holding_them_all(collector_factory):
    collector = collector_factory(env=EVENT_LIMITS)
    events = [{"e": "pv", "p": "web", "tv": "t", "page": f"p{n}"} for n in range(6)]
    response = httpx.post(f"{collector.url}{TP2}", json={"schema": PAYLOAD_DATA, "data": events})
    assert response.status_code == 200
    [row] = collector.bad()
    assert row["schema"].endswith("tracker_protocol_violations/jsonschema/1-0-1")
    assert "at most 5 events" in only_message(row)["expectation"]
    assert json.loads(row["data"]["payload"]["body"])["data"] == events  # kept whole, nothing lost
    assert collector.good() == []


def test_too_many_entities_and_too_deep_json_fail_the_event(collector_factory):
    collector = collector_factory(env=EVENT_LIMITS)
    within = {"e": "pv", "p": "web", "co": contexts(web_page(1), web_page(2))}
    too_many = {"e": "pv", "p": "web", "co": contexts(web_page(1), web_page(2), web_page(3))}
    deep: dict = {"leaf": 1}
    for _ in range(12):
        deep = {"next": deep}
    too_deep = {
        "e": "ue",
        "p": "web",
        "ue_pr": json.dumps({"schema": "iglu:com.acme/x/jsonschema/1-0-0", "data": deep}),
    }
    for params in (within, too_many, too_deep):
        assert httpx.get(f"{collector.url}/i", params=params).status_code == 200
    assert len(collector.good()) == 1
    many, deep_row = collector.bad()
    assert "3 entities, more than the limit of 2" in only_message(many)["error"]
    assert "nested deeper than 10 levels" in only_message(deep_row)["error"]
