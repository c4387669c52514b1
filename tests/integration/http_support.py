"""Small helpers for talking HTTP to the real collector process and reading what it stored.

Imported by the integration tests of this folder (not a test module itself).
"""

from __future__ import annotations

import base64
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import httpx
import orjson

TP2 = "/com.snowplowanalytics.snowplow/tp2"
PIXEL_PATHS = ("/i", "/ice.png", TP2)
SNOWPLOW = "iglu:com.snowplowanalytics.snowplow"
PAYLOAD_DATA = f"{SNOWPLOW}/payload_data/jsonschema/1-0-4"
CONTEXTS = f"{SNOWPLOW}/contexts/jsonschema/1-0-1"
CLIENT_SESSION = f"{SNOWPLOW}/client_session/jsonschema/1-0-2"
BADROWS = "iglu:com.snowplowanalytics.snowplow.badrows"
SCHEMA_VIOLATIONS = f"{BADROWS}/schema_violations/jsonschema/2-0-1"
TRACKER_PROTOCOL_VIOLATIONS = f"{BADROWS}/tracker_protocol_violations/jsonschema/1-0-1"
SIZE_VIOLATION = f"{BADROWS}/size_violation/jsonschema/1-0-0"
SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
JSON = {"Content-Type": "application/json; charset=utf-8"}


# --- building tracker payloads -------------------------------------------------------------


def page_view(**extra: str) -> dict[str, str]:
    """A valid page view as a tracker sends it, with its own event id so the test can find it."""
    return {"e": "pv", "p": "web", "tv": "test-0.1", "eid": str(uuid.uuid4()), "url": "https://shop.example/", **extra}


def payload_data(*events: Any, schema: str = PAYLOAD_DATA) -> dict[str, Any]:
    return {"schema": schema, "data": list(events)}


def b64(value: Any) -> str:
    """A JSON value as trackers put it in `cx` / `ue_px`: URL-safe base64 without padding."""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def contexts(*entities: dict[str, Any]) -> dict[str, Any]:
    return {"schema": CONTEXTS, "data": list(entities)}


def client_session(**overrides: Any) -> dict[str, Any]:
    data = {
        "userId": str(uuid.uuid4()),
        "sessionId": str(uuid.uuid4()),
        "sessionIndex": 1,
        "storageMechanism": "COOKIE_1",
        **overrides,
    }
    return {"schema": CLIENT_SESSION, "data": data}


# --- sending ----------------------------------------------------------------------------------


def post(
    url: str, *events: Any, headers: dict[str, str] | None = None, params: dict[str, str] | None = None
) -> httpx.Response:
    """POST a payload_data batch to tp2."""
    body = orjson.dumps(payload_data(*events))
    return httpx.post(url + TP2, content=body, headers={**JSON, **(headers or {})}, params=params)


def acknowledged_sender(url: str, acknowledged: list[str]) -> Callable[..., None]:
    """send(*extra_events): POST three page views plus `extra_events`, which must get a 200; the page
    views' event ids are appended to `acknowledged`, in the order they were acknowledged."""

    def send(*extra_events: dict[str, Any]) -> None:
        events = [page_view(page=f"request {len(acknowledged)}") for _ in range(3)]
        assert post(url, *events, *extra_events).status_code == 200
        acknowledged.extend(event["eid"] for event in events)

    return send


def pixel(url: str, params: dict[str, str], headers: dict[str, str] | None = None, path: str = "/i") -> httpx.Response:
    return httpx.get(url + path, params=params, headers=headers)


def raw_request(port: int, request: bytes) -> int:
    """Send bytes as they are (httpx would fix what these tests break) and return the status code."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # a server may answer and close before it has read a request it refuses
        received = b""
        while b"\r\n" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                raise AssertionError(f"connection closed without an answer (got {received!r})")
            received += chunk
    return int(received.split(b" ", 2)[1])


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Poll a condition with a deadline (not a sleep that hopes the timing works out)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(0.05)


# --- reading answers and output ---------------------------------------------------------------


@dataclass
class SetCookie:
    name: str
    value: str
    attributes: dict[str, str | bool]  # lower-case attribute name -> value, or True for a flag

    @property
    def expires(self) -> datetime:
        return parsedate_to_datetime(str(self.attributes["expires"]))


def set_cookies(response: httpx.Response) -> list[SetCookie]:
    cookies = []
    for header in response.headers.get_list("set-cookie"):
        pair, *attributes = [part.strip() for part in header.split(";")]
        name, _, value = pair.partition("=")
        parsed: dict[str, str | bool] = {}
        for attribute in attributes:
            key, has_value, attribute_value = attribute.partition("=")
            parsed[key.lower()] = attribute_value if has_value else True
        cookies.append(SetCookie(name, value, parsed))
    return cookies


def the_set_cookie(response: httpx.Response) -> SetCookie:
    [cookie] = set_cookies(response)
    return cookie


def by_event_id(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {event["event_id"]: event for event in events}


def raw_parameters(bad_row: dict[str, Any]) -> dict[str, str]:
    """The tracker parameters a schema_violations bad row kept."""
    return {p["name"]: p["value"] for p in bad_row["data"]["payload"]["raw"]["parameters"]}


@cache
def _bad_row_validator(schema_uri: str) -> Callable[[Any], Any]:
    vendor, name, fmt, version = schema_uri.removeprefix("iglu:").split("/")
    schema = orjson.loads((SCHEMAS_DIR / vendor / name / fmt / version).read_bytes())
    schema["$schema"] = "http://json-schema.org/draft-04/schema#"  # Iglu schemas are draft 4
    return fastjsonschema.compile(schema, formats={"uuid": UUID_PATTERN})


def assert_valid_bad_row(row: dict[str, Any]) -> None:
    """Valid against the official bad-row schema it names (from the project's Iglu folder)."""
    assert row["schema"].startswith(BADROWS + "/"), row["schema"]
    _bad_row_validator(row["schema"])(row["data"])
