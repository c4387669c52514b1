"""The filters of the Micro API: Micro's own (/micro/good, /micro/bad, /micro/events) and ours.

A request's filters are read once into `Filters`, with a `QueryError` naming what is wrong
(answered 400); `select` then walks the held records newest first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.atomic import FIELDS
from app.enrich import EVENT_TYPES
from app.micro.store import Entry
from app.micro.views import Views, entity_schemas, schema_of

ATOMIC_FIELDS = frozenset(FIELDS)
# The event type a filter may name by its tracker code too: "pv" as well as "page_view".
TYPE_NAMES = {code: name for code, (name, _, _) in EVENT_TYPES.items()}
GOOD_KEYS = ("event_type", "schema", "contexts", "limit")
BAD_KEYS = ("vendor", "version", "limit")
OURS = ("event_id", "app_id", "text", "timeRange")  # beyond Micro, on both


class QueryError(ValueError):
    """The filters cannot be read; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Filters:
    valid: bool | None = None  # True: good only; False: bad only
    event_type: str | None = None
    schema: str | None = None
    contexts: tuple[str, ...] = ()
    vendor: str | None = None
    version: str | None = None
    event_id: str | None = None
    app_id: str | None = None
    text: str | None = None
    start_ms: int | None = None  # collector time, inclusive
    end_ms: int | None = None  # exclusive
    columns: tuple[tuple[str, str], ...] = ()  # atomic field, case-insensitive substring
    kind: str | None = None  # the inspector's type column: the event type, or a self-describing event's name
    after_seq: int = 0  # only records that arrived after this one (the inspector's live updates)


def _without_iglu(uri: str) -> str:
    return uri.removeprefix("iglu:")


def matches(filters: Filters, entry: Entry, views: Views) -> bool:
    if filters.valid is not None and entry.valid != filters.valid:
        return False
    if filters.start_ms is not None and entry.received_ms < filters.start_ms:
        return False
    if filters.end_ms is not None and entry.received_ms >= filters.end_ms:
        return False
    if filters.kind is not None and TYPE_NAMES.get(filters.kind, filters.kind) != views.row(entry)["type"]:
        return False
    return (
        _event_matches(filters, entry.seen.event or {})
        and _payload_matches(filters, entry, views)
        and (filters.text is None or filters.text.lower() in views.text(entry))
    )


def _event_matches(filters: Filters, event: dict[str, Any]) -> bool:
    """Micro's event_type, schema and contexts, and our event_id and app_id."""
    if filters.event_type is not None and TYPE_NAMES.get(filters.event_type, filters.event_type) != event.get("event"):
        return False
    if filters.schema is not None and _without_iglu(schema_of(event) or "") != _without_iglu(filters.schema):
        return False
    if filters.contexts:
        attached = {_without_iglu(uri) for uri in entity_schemas(event)}
        if not all(_without_iglu(uri) in attached for uri in filters.contexts):
            return False
    if filters.event_id is not None and event.get("event_id") != filters.event_id.lower():
        return False
    return filters.app_id is None or event.get("app_id") == filters.app_id


def _payload_matches(filters: Filters, entry: Entry, views: Views) -> bool:
    """Micro's vendor and version of the request, and /micro/events' column filters."""
    if filters.vendor is not None or filters.version is not None:
        api = views.collector_payload(entry)["api"]
        if filters.vendor not in (None, api["vendor"]) or filters.version not in (None, api["version"]):
            return False
    if filters.columns:
        canonical = views.canonical(entry)
        for column, value in filters.columns:
            held = canonical[column]
            if held is None or value.lower() not in str(held).lower():
                return False
    return True


def select(entries: list[Entry], filters: Filters, views: Views, limit: int | None = None) -> Iterator[Entry]:
    """The matching records of `entries` (newest first), at most `limit`."""
    found = 0
    for entry in entries:
        if (limit is not None and found >= limit) or entry.seq <= filters.after_seq:
            return  # a live update stops at the first record it already has
        if matches(filters, entry, views):
            found += 1
            yield entry


# --- reading request bodies -------------------------------------------------------------------


def read_good(body: Any) -> tuple[Filters, int | None]:
    """POST /micro/good: Micro's event_type, schema, contexts, limit, and ours."""
    body = _object(body, GOOD_KEYS + OURS)
    return Filters(
        valid=True,
        event_type=_text(body, "event_type"),
        schema=_text(body, "schema"),
        contexts=tuple(_texts(body, "contexts")),
        **_ours(body),
    ), _limit(body, "limit")


def read_bad(body: Any) -> tuple[Filters, int | None]:
    """POST /micro/bad: Micro's vendor, version, limit, and ours."""
    body = _object(body, BAD_KEYS + OURS)
    return Filters(valid=False, vendor=_text(body, "vendor"), version=_text(body, "version"), **_ours(body)), _limit(
        body, "limit"
    )


@dataclass(frozen=True, slots=True)
class Page:
    filters: Filters
    page: int
    page_size: int
    sort_column: str
    descending: bool


def read_events_query(body: Any) -> Page:
    """POST /micro/events: page, pageSize, filters, validEvents, timeRange, sorting (and our text)."""
    body = _object(body, ("page", "pageSize", "filters", "validEvents", "timeRange", "sorting", "text"))
    page, page_size = _limit(body, "page"), _limit(body, "pageSize")
    if not page or not page_size:
        raise QueryError("page and pageSize must be whole numbers from 1")
    columns = []
    if not isinstance(body.get("filters") or [], list):
        raise QueryError("filters must be a list of {column, value}")
    for item in body.get("filters") or []:
        item = _object(item, ("column", "value"))
        column, value = _text(item, "column"), _text(item, "value")
        if column not in ATOMIC_FIELDS or value is None:
            raise QueryError(f"filters: {column!r} is not an atomic field, or its value is not text")
        columns.append((column, value))
    valid = body.get("validEvents")
    if valid is not None and not isinstance(valid, bool):
        raise QueryError("validEvents must be true, false or null")
    sorting = _object(body.get("sorting") or {}, ("column", "desc"))  # Micro's EventsSorting
    column = _text(sorting, "column") or "collector_tstamp"
    if column not in ATOMIC_FIELDS:
        raise QueryError(f"sorting: {column!r} is not an atomic field")
    if not isinstance(sorting.get("desc", False), bool):
        raise QueryError("sorting.desc must be true or false")
    descending = sorting["desc"] if "desc" in sorting else not sorting  # by default newest first, as Micro lists
    start, end = _time_range(body)
    filters = Filters(valid=valid, columns=tuple(columns), text=_text(body, "text"), start_ms=start, end_ms=end)
    return Page(filters, page, page_size, column, descending)


def _ours(body: dict[str, Any]) -> dict[str, Any]:
    start, end = _time_range(body)
    return {
        "event_id": _text(body, "event_id"),
        "app_id": _text(body, "app_id"),
        "text": _text(body, "text"),
        "start_ms": start,
        "end_ms": end,
    }


def _object(value: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise QueryError("expected a JSON object")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise QueryError(f"unknown filter {', '.join(unknown)}; known: {', '.join(allowed)}")
    return value


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise QueryError(f"{name} must be a string")
    return value


def _texts(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise QueryError(f"{name} must be a list of strings")
    return value


def _limit(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is not None and (type(value) is not int or value < 0):
        raise QueryError(f"{name} must be a whole number from 0")
    return value


def _time_range(body: dict[str, Any]) -> tuple[int | None, int | None]:
    bounds = _object(body.get("timeRange"), ("start", "end"))
    return _instant(bounds, "start"), _instant(bounds, "end")


def _instant(bounds: dict[str, Any], name: str) -> int | None:
    text = _text(bounds, name)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(f"timeRange.{name} is not an ISO-8601 time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
