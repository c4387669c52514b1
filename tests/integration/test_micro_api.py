"""The Micro API over HTTP: `python -m app micro`, and a running collector serving it on a port of
its own or behind a token, never on the tracking port by accident."""

from __future__ import annotations

import signal
import uuid

import httpx
import orjson
import pytest
from http_support import SCHEMAS_DIR, TP2, b64, page_view, pixel, post

from tests.conftest import free_port, start_collector

LINK_CLICK = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"
TOKEN = "a-test-token-of-some-length"


def link_click(target: str) -> dict[str, str]:
    event = {"schema": LINK_CLICK, "data": {"targetUrl": target}}
    wrapper = {"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0", "data": event}
    return {"e": "ue", "p": "web", "tv": "test-0.1", "eid": str(uuid.uuid4()), "ue_px": b64(wrapper)}


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    """One `python -m app micro` for the tests of this module that need no other settings."""
    collector = start_collector(tmp_path_factory.mktemp("micro") / "data", args=["micro"])
    yield collector
    collector.stop(signal.SIGKILL)


def test_micro_answers_like_snowplow_micro(micro):
    httpx.post(f"{micro.url}/micro/reset")
    view = page_view(aid="shop")
    assert pixel(micro.url, view).status_code == 200
    broken = link_click("")
    assert post(micro.url, link_click("https://a.example/"), broken).status_code == 200
    not_json = httpx.post(micro.url + TP2, content=b"{oops", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 200

    assert httpx.get(f"{micro.url}/micro/all").json() == {"total": 4, "good": 2, "bad": 2}
    [good] = httpx.post(f"{micro.url}/micro/good", json={"event_type": "page_view"}).json()
    assert good["event"]["event_id"] == view["eid"] and good["event"]["app_id"] == "shop"
    assert good["eventType"] == "page_view" and good["rawEvent"]["parameters"]["aid"] == "shop"
    [click] = httpx.post(f"{micro.url}/micro/good", json={"schema": LINK_CLICK}).json()
    assert click["event"]["unstruct_event"]["data"]["data"]["targetUrl"] == "https://a.example/"

    bad = httpx.post(f"{micro.url}/micro/bad", json={"version": "tp2"}).json()
    assert [b["eventId"] for b in bad] == [None, broken["eid"]]  # newest first; the non-JSON body has no event
    assert bad[1]["errors"][0].startswith("Schema violation:")
    assert orjson.loads(bad[1]["errors"][1])["data"]["failure"]["messages"][0]["schemaKey"] == LINK_CLICK
    assert httpx.post(f"{micro.url}/micro/bad", json={"event_id": broken["eid"]}).json()[0]["eventId"] == broken["eid"]

    page = httpx.post(
        f"{micro.url}/micro/events", json={"page": 1, "pageSize": 1, "filters": [{"column": "app_id", "value": "SHOP"}]}
    ).json()
    assert (page["totalItems"], page["totalPages"]) == (1, 1)
    assert page["events"][0]["event_id"] == view["eid"]

    assert not list((micro.data_dir).rglob("*.jsonl*"))  # the micro output is memory only
    assert httpx.post(f"{micro.url}/micro/reset").json() == {"total": 0, "good": 0, "bad": 0}
    assert httpx.get(f"{micro.url}/micro/good").json() == []


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("/micro/good", b'{"limit": "ten"}', "limit"),
        ("/micro/good", b"{not json", "not JSON"),
        ("/micro/bad", b'{"schema": "x"}', "unknown filter schema"),
        ("/micro/events", b'{"page": 0, "pageSize": 10}', "page and pageSize"),
        ("/micro/events", b'{"page": 1, "pageSize": 5, "filters": [{"column": "x", "value": "y"}]}', "'x'"),
    ],
)
def test_unreadable_filters_get_a_400_naming_the_problem(micro, path, body, named):
    answer = httpx.post(micro.url + path, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert named in answer.json()["error"]


def test_micro_answers_pages_on_other_origins_as_micro_does(micro):
    origin = {"Origin": "http://localhost:3000"}
    preflight = httpx.options(f"{micro.url}/micro/good", headers={**origin, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200
    assert httpx.get(f"{micro.url}/micro/all", headers=origin).headers["access-control-allow-origin"] == "*"
    assert httpx.options(f"{micro.url}/micro/all").status_code == 200


def test_iglu_lookup_answers_the_schema_or_where_it_looked(micro):
    found = httpx.get(f"{micro.url}/micro/iglu/com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1")
    assert found.status_code == 200
    path = SCHEMAS_DIR / "com.snowplowanalytics.snowplow" / "link_click" / "jsonschema" / "1-0-1"
    assert found.json() == orjson.loads(path.read_bytes())
    missing = httpx.get(f"{micro.url}/micro/iglu/com.acme/nothing/jsonschema/1-0-0")
    assert missing.status_code == 404
    assert missing.json()["value"]["local schemas"]["errors"] == [{"error": "NotFound"}]


def test_inspector_page_and_its_files_are_served(micro):
    page = httpx.get(f"{micro.url}/micro/ui")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for asset in ("inspector.js", "inspector.css"):
        assert httpx.get(f"{micro.url}/micro/ui/{asset}").status_code == 200
    assert httpx.get(f"{micro.url}/micro/ui/secrets.txt").status_code == 404
    assert httpx.get(f"{micro.url}/micro/ui/events/12345").status_code == 404


def test_a_running_collector_serves_micro_on_its_own_port_only(collector_factory):
    port = free_port()
    collector = collector_factory(
        {"COLLECTOR_MICRO_EVENTS": "50", "COLLECTOR_MICRO_PORT": str(port), "COLLECTOR_WORKERS": "1"}
    )
    view = page_view()
    assert pixel(collector.url, view).status_code == 200
    assert httpx.get(f"{collector.url}/micro/all").status_code == 404  # not on the tracking port
    assert httpx.get(f"http://127.0.0.1:{port}/micro/all").json() == {"total": 1, "good": 1, "bad": 0}
    assert [e["event_id"] for e in collector.good()] == [view["eid"]]  # and the sink has it too
    assert collector.stop() == 0  # both ports close on SIGTERM


def test_a_token_guards_micro_on_the_tracking_port(collector_factory):
    collector = collector_factory(
        {"COLLECTOR_MICRO_EVENTS": "50", "COLLECTOR_MICRO_TOKEN": TOKEN, "COLLECTOR_WORKERS": "1"}
    )
    assert pixel(collector.url, page_view()).status_code == 200
    for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": TOKEN}):
        refused = httpx.get(f"{collector.url}/micro/good", headers=headers)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    allowed = httpx.get(f"{collector.url}/micro/all", headers={"Authorization": f"Bearer {TOKEN}"})
    assert allowed.json() == {"total": 1, "good": 1, "bad": 0}
    assert httpx.get(f"{collector.url}/micro/ui").status_code == 200  # the page holds no data; it asks with the token
