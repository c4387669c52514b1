"""Held records → the JSON shapes of Snowplow Micro's API, and the inspector's rows and details.

Micro's shapes (GoodEvent, BadEvent, RawEvent, CollectorPayload) are built on first use and
kept on the entry: a test suite asks for the same events many times.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import orjson

from app.atomic import FIELDS
from app.badrows import BadRows, adapter_version
from app.clock import iso_from_ms
from app.iglu import SchemaKey
from app.micro.store import Entry
from app.protocol import decode_base64, parse_query
from app.schemas import SNOWPLOW

T = TypeVar("T")
# A bad row's schema name → the words a person reads first.
FAILURE_KINDS = {
    "schema_violations": "Schema violation",
    "tracker_protocol_violations": "Tracker protocol violation",
    "size_violation": "Size violation",
    "generic_error": "Collector error",
}


def schema_of(event: dict[str, Any]) -> str | None:
    """The event's own schema: the self-describing event's, or the built-in type's (page_view...)."""
    parts = [event.get(name) for name in ("event_vendor", "event_name", "event_format", "event_version")]
    return f"iglu:{'/'.join(parts)}" if all(parts) else None  # type: ignore[arg-type]


def entity_schemas(event: dict[str, Any]) -> list[str]:
    contexts = event.get("contexts") or {}
    entities = contexts.get("data", [])
    return [e["schema"] for e in entities if isinstance(e, dict) and isinstance(e.get("schema"), str)]


def failure_kind(row: dict[str, Any]) -> str:
    name: str = row["schema"].split("/")[1]
    return FAILURE_KINDS.get(name, name)


def failures(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Each failure of a bad row as {message, path, schema}: `path` names the failing property
    (a JSONPath inside the entity or event, or the tracker parameter), for the inspector to mark."""
    failure = row["data"]["failure"]
    if "messages" not in failure:  # size_violation, generic_error
        text = failure.get("expectation") or "; ".join(failure.get("errors", []))
        return [{"message": text, "path": None, "schema": None}]
    found = []
    for message in failure["messages"]:
        schema = message.get("schemaKey")
        error = message.get("error")
        if isinstance(error, dict):  # an Iglu validation or resolution error
            for report in error.get("dataReports") or error.get("schemaIssues") or []:
                found.append({"message": report["message"], "path": report.get("path"), "schema": schema})
            if error.get("error") == "ResolutionError":
                tried = ", ".join(entry["repository"] for entry in error.get("lookupHistory", []))
                found.append({"message": f"schema not found (looked in: {tried})", "path": None, "schema": schema})
        elif "schemaCriterion" in message:
            text = f"{schema} is not a {message['schemaCriterion']}"
            found.append({"message": text, "path": None, "schema": schema})
        else:  # a parameter or the body: {field, value, error | expectation}, or NotIglu {json, error}
            text = error if isinstance(error, str) else message.get("expectation", "")
            found.append({"message": text, "path": message.get("field"), "schema": schema})
    return found


class Views:
    def __init__(self, badrows: BadRows, source_name: str) -> None:
        self.badrows = badrows
        self.source = source_name  # Micro's `source.name`: this collector, as in v_collector

    @staticmethod
    def _cached(entry: Entry, name: str, build: Callable[[Entry], T]) -> T:
        view = entry.views.get(name)
        if view is None:
            view = entry.views[name] = build(entry)
        return cast(T, view)

    # --- Micro's shapes ---------------------------------------------------------------------

    def canonical(self, entry: Entry) -> dict[str, Any]:
        """Every atomic field, null when empty; for a payload that never became an event, what
        the collector knew of the request."""
        return self._cached(entry, "canonical", self._canonical)

    def _canonical(self, entry: Entry) -> dict[str, Any]:
        event = entry.seen.event
        if event is None:
            identity = entry.seen.identity
            event = {
                "collector_tstamp": iso_from_ms(entry.received_ms),
                "user_ipaddress": identity.ip,
                "network_userid": identity.network_userid,
                "page_url": entry.seen.request.headers.get("referer"),
            }
        return {name: event.get(name) for name in FIELDS}

    def good_event(self, entry: Entry) -> dict[str, Any]:
        return self._cached(entry, "good", self._good_event)

    def _good_event(self, entry: Entry) -> dict[str, Any]:
        event = entry.seen.event or {}
        return {
            "rawEvent": self.raw_event(entry),
            "eventType": event.get("event"),
            "schema": schema_of(event),
            "contexts": entity_schemas(event),
            "event": self.canonical(entry),
            "incomplete": False,  # Micro marks a failed event kept as an event so; here those are BadEvents
        }

    def bad_event(self, entry: Entry) -> dict[str, Any]:
        return self._cached(entry, "bad", self._bad_event)

    def _bad_event(self, entry: Entry) -> dict[str, Any]:
        row = entry.seen.bad_row
        assert row is not None, "only a bad record has a BadEvent"
        first = failures(row)[0]["message"]
        return {
            "collectorPayload": self.collector_payload(entry),
            "rawEvent": self.raw_event(entry) if entry.seen.params is not None else None,
            "errors": [f"{failure_kind(row)}: {first}", orjson.dumps(row).decode()],
            # Beyond Micro: the bad row itself, and the event id when an event was read.
            "badRow": row,
            "eventId": entry.seen.event["event_id"] if entry.seen.event else None,
        }

    def _context(self, entry: Entry) -> tuple[dict[str, Any], dict[str, Any]]:
        """(source, context) of Micro's RawEvent and CollectorPayload."""
        seen = entry.seen
        seen_by_collector = self.badrows.request_context(seen.request, seen.identity)
        source = {"name": self.source, "encoding": "UTF-8", "hostname": seen_by_collector["hostname"]}
        context = {
            "timestamp": seen_by_collector["timestamp"],
            "ipAddress": seen_by_collector["ipAddress"],
            "useragent": seen_by_collector["useragent"],
            "refererUri": seen_by_collector["refererUri"],
            "headers": seen_by_collector["headers"],
            "userId": seen.identity.network_userid,
        }
        return source, context

    def raw_event(self, entry: Entry) -> dict[str, Any]:
        source, context = self._context(entry)
        return {
            "api": {"vendor": SNOWPLOW, "version": adapter_version(entry.seen.request)},
            "parameters": entry.seen.params,
            "contentType": entry.seen.request.content_type,
            "source": source,
            "context": context,
        }

    def collector_payload(self, entry: Entry) -> dict[str, Any]:
        request = entry.seen.request
        source, context = self._context(entry)
        return {
            "api": {"vendor": SNOWPLOW, "version": adapter_version(request)},
            "querystring": [
                {"name": name, "value": value} for name, value in parse_query(request.query_string).items()
            ],
            "contentType": request.content_type,
            "body": request.body.decode("utf-8", "replace") or None,
            "source": source,
            "context": context,
        }

    # --- the inspector ----------------------------------------------------------------------

    def text(self, entry: Entry) -> str:
        """Everything searchable about the record, lower case: the event and the bad row."""
        return self._cached(entry, "text", lambda e: orjson.dumps([self.canonical(e), e.seen.bad_row]).decode().lower())

    def row(self, entry: Entry) -> dict[str, Any]:
        return self._cached(entry, "row", self._row)

    def _row(self, entry: Entry) -> dict[str, Any]:
        event = self.canonical(entry)
        kind = event["event"]
        if kind == "unstruct":  # its own name; for one that failed, the name it was sent with
            kind = event["event_name"] or _sent_event_name(entry.seen.params or {}) or kind
        return {
            "seq": entry.seq,
            "valid": entry.valid,
            "time": event["collector_tstamp"],
            "type": kind,
            "app": event["app_id"],
            "page": event["page_url"],
            "network_userid": event["network_userid"],
            "user_ipaddress": event["user_ipaddress"],
            "anonymous": entry.seen.identity.anonymous,
            "failure": None if entry.seen.bad_row is None else failure_kind(entry.seen.bad_row),
        }

    def detail(self, entry: Entry) -> dict[str, Any]:
        event = self.canonical(entry)
        row = entry.seen.bad_row
        return {
            **self.row(entry),
            "event": event,
            "contexts": (event["contexts"] or {}).get("data", []),
            "sent": _sent_json(entry.seen.params or {}),
            "failures": failures(row) if row else [],
            "badRow": row,
            "rawEvent": self.raw_event(entry) if entry.seen.params is not None else None,
        }


def _sent_event_name(params: dict[str, str]) -> str | None:
    sent = _sent_json(params).get("unstruct_event")
    inner = sent.get("data") if isinstance(sent, dict) else None
    schema = inner.get("schema") if isinstance(inner, dict) else None
    key = SchemaKey.parse(schema) if isinstance(schema, str) else None
    return key.name if key else None


def _sent_json(params: dict[str, str]) -> dict[str, Any]:
    """The entities and self-describing event as the tracker sent them: what a failure points into."""
    sent: dict[str, Any] = {}
    for name, encoded, plain in (("contexts", "cx", "co"), ("unstruct_event", "ue_px", "ue_pr")):
        text = decode_base64(params[encoded]).decode("utf-8", "replace") if params.get(encoded) else params.get(plain)
        if text:
            try:
                sent[name] = orjson.loads(text)
            except orjson.JSONDecodeError:
                sent[name] = text
    return sent
