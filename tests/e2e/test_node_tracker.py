"""@snowplow/node-tracker against the real service: GET and POST emitters, batches of 1, 10 and 100.

tests/e2e/js/node_tracker.mjs sends page views, structured events and self-describing events,
each with two entities, and reports each event's id as the tracker made it and the size of every
batch the collector acknowledged. Each event must come out as one good enriched event with the
tracker's values, and nothing as a bad row.
"""

from __future__ import annotations

import json
import re

import pytest
from node_driver import JS, run_node

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
LINK_CLICK = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"
CONTEXTS = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"


def tracker_version() -> str:
    return json.loads((JS / "node_modules" / "@snowplow" / "node-tracker" / "package.json").read_text())["version"]


def send(collector, method: str, batch: int, events: int, base64: bool = True) -> dict:
    config = {
        "endpoint": collector.url,
        "eventMethod": method,
        "bufferSize": batch,
        "events": events,
        "encodeBase64": base64,
    }
    return run_node("node_tracker.mjs", config)


def assert_stored_as_sent(collector, report: dict) -> list[dict]:
    assert collector.bad() == []
    stored = {event["event_id"]: event for event in collector.good()}
    sent = report["sent"]
    assert len(collector.good()) == len(sent), "every event stored exactly once"
    assert set(stored) == {s["eventId"] for s in sent}
    version = tracker_version()
    for s in sent:
        event = stored[s["eventId"]]
        i = s["i"]
        assert event["event"] == s["kind"]
        assert event["app_id"] == "e2e-node-app"
        assert event["name_tracker"] == "e2e-node"
        assert event["platform"] == "srv"
        assert event["v_tracker"] == f"node-{version}"
        assert event["user_ipaddress"] == "127.0.0.1"
        assert UUID.match(event["network_userid"])
        assert "dvce_created_tstamp" in event and "dvce_sent_tstamp" in event
        assert event.get("contexts") == {"schema": CONTEXTS, "data": s["entities"]}
        if s["kind"] == "page_view":
            assert event["page_url"] == f"https://shop.example/page/{i}"
            assert event["page_title"] == f"Page {i}"
            assert event["page_referrer"] == "https://search.example/"
        elif s["kind"] == "struct":
            assert (event["se_category"], event["se_action"], event["se_label"], event["se_property"]) == (
                "e2e",
                "click",
                f"label-{i}",
                "button",
            )
            assert event["se_value"] == i + 0.5
        else:
            assert event["event_vendor"] == "com.snowplowanalytics.snowplow"
            assert event["event_name"] == "link_click"
            assert event["event_version"] == "1-0-1"
            assert event["unstruct_event"]["data"] == {
                "schema": LINK_CLICK,
                "data": {"targetUrl": f"https://shop.example/link/{i}", "elementId": f"link-{i}"},
            }
    return [stored[s["eventId"]] for s in sent]


@pytest.mark.parametrize("batch", [1, 10, 100])
def test_post_emitter_batches(collector, batch):
    report = send(collector, "post", batch, events=2 * batch)
    # bufferSize N: the tracker sends N events per POST, and the collector acknowledges each batch.
    assert report["batches"] == [batch, batch]
    events = assert_stored_as_sent(collector, report)
    # No cookie jar in Node: each request gets its own collector id, shared by the events it carries.
    assert [e["network_userid"] for e in events[:batch]] == [events[0]["network_userid"]] * batch
    assert len({e["network_userid"] for e in events}) == 2


@pytest.mark.parametrize("batch", [1, 10, 100])
def test_get_emitter(collector, batch):
    report = send(collector, "get", batch, events=2 * batch)
    # A GET carries one event: the buffer is flushed as one request per event.
    assert report["batches"] == [1] * (2 * batch)
    events = assert_stored_as_sent(collector, report)
    assert len({e["network_userid"] for e in events}) == 2 * batch


def test_post_emitter_plain_json(collector):
    """encodeBase64: false sends `co` and `ue_pr` as plain JSON instead of `cx` and `ue_px`."""
    report = send(collector, "post", 10, events=10, base64=False)
    assert report["batches"] == [10]
    assert_stored_as_sent(collector, report)
