"""What the benchmarks send: a browser-like page view, its entities, and tp2 batches of it.

The same payloads feed the load benchmark (as HTTP requests) and the in-process pipeline
benchmark (as CollectorRequest records), so the two measure the same work.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any
from urllib.parse import urlencode

import orjson

TP2_PATH = "/com.snowplowanalytics.snowplow/tp2"
PIXEL_PATH = "/i"
SNOWPLOW = "iglu:com.snowplowanalytics.snowplow"
PAYLOAD_DATA = f"{SNOWPLOW}/payload_data/jsonschema/1-0-4"
CONTEXTS = f"{SNOWPLOW}/contexts/jsonschema/1-0-0"
# Fixed ids: every request of a case is the same bytes, so a case measures one known payload.
USER = "5d79770b-015b-4af8-8c91-b2ed6faf4b1e"
SESSION = "8cae7ff5-a1f2-4b8a-8c4c-b8a7d9ed3c87"
PAGE_VIEW = "5e4e0a2c-7b3f-4d5e-9a61-0f6c7d2b8e11"
COOKIE_ID = "c6ef3124-b53a-4b13-a233-0088f79dcbcb"
DTM = 1_732_836_000_000  # 2024-11-28T23:20:00Z
STM = DTM + 150

BROWSER_HEADERS = {
    "User-Agent": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36"
    ),
    "Accept-Language": "en-GB,en;q=0.9",
    "Referer": "https://shop.example.com/products/espresso-machine-42?utm_source=newsletter",
    "Cookie": f"sp={COOKIE_ID}; _sp_id.1fff=3a8e2b0c-1111-4a2b-9c3d-5e6f7a8b9c0d.1732830000.3.1732836000",
}
GET_HEADERS = {**BROWSER_HEADERS, "Accept": "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"}
POST_HEADERS = {
    **BROWSER_HEADERS,
    "Content-Type": "application/json; charset=UTF-8",
    "Origin": "https://shop.example.com",
    "Accept": "*/*",
}


def _entity(name: str, version: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"schema": f"{SNOWPLOW}/{name}/jsonschema/{version}", "data": data}


ENTITIES: list[dict[str, Any]] = [  # the first is the one a typical web event carries
    _entity(
        "client_session",
        "1-0-2",
        {
            "userId": USER,
            "sessionId": SESSION,
            "sessionIndex": 3,
            "eventIndex": 17,
            "previousSessionId": "1b4e28ba-2fa1-4d2e-883f-0016d3cca427",
            "storageMechanism": "COOKIE_1",
            "firstEventId": "7f1c2b9e-6a3d-4c8e-9f0a-2b3c4d5e6f70",
            "firstEventTimestamp": "2024-11-28T23:02:11.512Z",
        },
    ),
    _entity("web_page", "1-0-0", {"id": PAGE_VIEW}),
    _entity(
        "browser_context",
        "2-0-0",
        {
            "viewport": "1280x720",
            "documentSize": "1263x3400",
            "resolution": "1920x1080",
            "colorDepth": 24,
            "devicePixelRatio": 1.5,
            "cookiesEnabled": True,
            "online": True,
            "browserLanguage": "en-GB",
            "documentLanguage": "en",
            "webdriver": False,
            "deviceMemory": 8,
            "hardwareConcurrency": 8,
            "tabId": "0d3f8f4e-22b1-4c1e-8f5a-6b7c8d9e0f12",
        },
    ),
    _entity(
        "geolocation_context",
        "1-1-0",
        {
            "latitude": 52.5200,
            "longitude": 13.4050,
            "latitudeLongitudeAccuracy": 35.0,
            "altitude": None,
            "timestamp": DTM,
        },
    ),
    _entity("application", "1-0-0", {"version": "2.14.0"}),
]


def b64(value: Any) -> str:
    """JSON as the JavaScript tracker puts it in `cx`: URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


def page_view(entities: int = 1, *, post: bool = False) -> dict[str, str]:
    """One page view: 16 tracker parameters (17 in a POST, which adds `stm`) and `cx`."""
    if not 0 <= entities <= len(ENTITIES):
        raise ValueError(f"entities must be 0..{len(ENTITIES)}")
    event = {
        "e": "pv",
        "eid": "2b5e1f0a-9c8d-4e7f-a6b5-c4d3e2f1a0b9",
        "tv": "js-4.1.0",
        "tna": "sp",
        "aid": "shop-web",
        "p": "web",
        "cookie": "1",
        "cs": "UTF-8",
        "lang": "en-GB",
        "res": "1920x1080",
        "vp": "1280x720",
        "tz": "Europe/Berlin",
        "dtm": str(DTM),
        "url": "https://shop.example.com/products/espresso-machine-42?utm_source=newsletter&utm_medium=email",
        "page": "Espresso machine 42 | Shop",
        "refr": "https://www.example.org/search?q=espresso+machine",
    }
    if post:
        event["stm"] = str(STM)
    if entities:
        event["cx"] = b64({"schema": CONTEXTS, "data": ENTITIES[:entities]})
    return event


def get_query(entities: int = 1) -> str:
    """The query string of a GET /i page view, form-encoded as a browser sends it."""
    return urlencode(page_view(entities))


def post_body(batch: int, entities: int = 1) -> bytes:
    """A tp2 payload_data body holding `batch` page views."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    events = [page_view(entities, post=True) for _ in range(batch)]
    for index, event in enumerate(events):  # distinct ids, as a real batch would have
        event["eid"] = str(uuid.UUID(int=(0x2B5E1F0A_9C8D_4E7F_A6B5_C4D3E2F10000 + index)))
    return orjson.dumps({"schema": PAYLOAD_DATA, "data": events})
