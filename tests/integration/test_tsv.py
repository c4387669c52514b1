"""The enriched TSV output, read back field by field with the official Python Analytics SDK."""

from __future__ import annotations

import base64
import json

import httpx
from snowplow_analytics_sdk.event_transformer import transform

CLIENT_SESSION = {
    "schema": "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2",
    "data": {
        "userId": "6f0b8a4e-36a5-4b35-9b8e-2d0e0d8c6a01",
        "sessionId": "1e8f7d5c-2b4a-4c3d-8e9f-0a1b2c3d4e5f",
        "sessionIndex": 3,
        "previousSessionId": None,
        "storageMechanism": "COOKIE_1",
    },
}


def cx(*entities: dict) -> str:
    wrapper = {"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0", "data": list(entities)}
    return base64.urlsafe_b64encode(json.dumps(wrapper).encode()).decode().rstrip("=")


def test_tsv_lines_are_read_by_the_python_analytics_sdk(collector_factory):
    collector = collector_factory(env={"COLLECTOR_OUTPUT_FORMAT": "tsv"})
    params = {
        "e": "pv",
        "p": "web",
        "tv": "js-4.0.0",
        "aid": "shop",
        "eid": "0b9c1f22-6a4e-4e1b-9a55-2f7d9f1c3b2a",
        "url": "https://www.acme.com:8443/cart?step=2#pay",
        "page": "Cart\tand more",
        "duid": "d-1",
        "sid": CLIENT_SESSION["data"]["sessionId"],
        "vid": "3",
        "res": "1920x1080",
        "cookie": "1",
        "dtm": "1764370000000",
        "stm": "1764370000500",
        "cx": cx(CLIENT_SESSION),
    }
    response = httpx.get(f"{collector.url}/i", params=params, headers={"User-Agent": "Mozilla/5.0 test"})
    assert response.status_code == 200

    good_files = list((collector.data_dir / "good").iterdir())
    assert [path.name.endswith(".tsv.part") for path in good_files] == [True], good_files
    [line] = [line for path in good_files for line in path.read_text().splitlines()]
    assert len(line.split("\t")) == 131
    event = transform(line)
    assert event["event_id"] == params["eid"]
    assert event["app_id"] == "shop" and event["platform"] == "web" and event["event"] == "page_view"
    assert event["user_ipaddress"] == "127.0.0.1"
    assert event["network_userid"] == response.cookies["sp"]
    assert event["page_urlhost"] == "www.acme.com" and event["page_urlport"] == 8443
    assert (
        event["page_urlpath"] == "/cart" and event["page_urlquery"] == "step=2" and event["page_urlfragment"] == "pay"
    )
    assert event["page_title"] == "Cart    and more"  # a tab in a value never breaks the line
    assert event["domain_sessionidx"] == 3 and event["domain_sessionid"] == params["sid"]
    assert event["dvce_screenwidth"] == 1920 and event["dvce_screenheight"] == 1080
    assert event["br_cookies"] is True
    assert event["dvce_created_tstamp"] == "2025-11-28T22:46:40.000Z"
    assert event["dvce_sent_tstamp"] == "2025-11-28T22:46:40.500Z"
    assert event["collector_tstamp"].endswith("Z") and "T" in event["collector_tstamp"]
    assert event["useragent"] == "Mozilla/5.0 test"
    assert event["contexts_com_snowplowanalytics_snowplow_client_session_1"] == [CLIENT_SESSION["data"]]
    assert event["event_vendor"] == "com.snowplowanalytics.snowplow" and event["event_version"] == "1-0-0"
