"""Redirect tracking (`/r/tp2`): check the target, and turn the click into a tracker event.

The contract: docs/behaviour.md#routes.

The target must be an absolute http(s) URL whose host is on the allow-list: an empty list
allows nothing, so the collector is never an open redirect.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import orjson

from app.failures import Failure, InputError
from app.protocol import RawEvent, decode_base64
from app.schemas import CONTEXTS_IN, UNSTRUCT_EVENT, URI_REDIRECT

CONTEXTS = CONTEXTS_IN[0]  # the oldest wrapper: every Snowplow version reads it


def check_target(target: str | None, allowed_hosts: frozenset[str]) -> Failure | None:
    """None when the target may be redirected to, else a Failure saying why not."""
    if not target:
        return _refused(target, "missing redirect target: the u parameter is required")
    try:
        parts = urlsplit(target)
        host = parts.hostname
    except ValueError:
        return _refused(target, "malformed redirect target")
    if parts.scheme not in ("http", "https") or not host:
        return _refused(target, "redirect target must be an absolute http or https URL")
    if host.lower() not in allowed_hosts:
        return _refused(target, f"redirect target host {host} is not on the allow-list")
    return None


def _refused(target: str | None, expectation: str) -> Failure:
    return Failure(InputError(field="u", value=target, expectation=expectation))


def redirect_event(params: RawEvent, target: str) -> RawEvent:
    """The click as an event: a uri_redirect self-describing event, or an entity on the tracker's own event."""
    redirect = {"schema": URI_REDIRECT, "data": {"uri": target}}
    event = {name: value for name, value in params.items() if name != "u"}
    event["tv"] = "r-tp2"
    event.setdefault("p", "web")
    if not event.get("e"):
        event["e"] = "ue"
        event.pop("ue_px", None)
        event["ue_pr"] = orjson.dumps({"schema": UNSTRUCT_EVENT, "data": redirect}).decode()
        return event
    entities = _entities(event)
    if entities is not None:
        event.pop("cx", None)
        event["co"] = orjson.dumps({"schema": CONTEXTS, "data": [*entities, redirect]}).decode()
    return event


def _entities(event: RawEvent) -> list[Any] | None:
    """The tracker's own entities, or None when they cannot be read (left for validation to report)."""
    text = decode_base64(event["cx"]).decode("utf-8", "replace") if event.get("cx") else event.get("co")
    if not text:
        return []
    try:
        wrapper = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    data = wrapper.get("data") if isinstance(wrapper, dict) else None
    return data if isinstance(data, list) else None
