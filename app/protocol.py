"""Tracker protocol: a request's query string or `payload_data` body → raw events.

The contract: docs/behaviour.md#events.

A raw event is the tracker's parameters as a dict of strings. What cannot be read as
tracker events becomes a `Violation`, which the pipeline turns into a
`tracker_protocol_violations` bad row: the whole payload when the body itself is wrong,
one event when only that event is wrong (the rest of its batch goes on).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

import fastjsonschema
import orjson

from app.failures import CriterionMismatch, Failure, FieldError, InputError, Message
from app.iglu import Registry, SchemaKey, parse_self_describing
from app.request import CollectorRequest
from app.schemas import PAYLOAD_DATA, PAYLOAD_DATA_CRITERION, SNOWPLOW

JSON_TYPES = ("application/json", "text/plain")
NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
URL_SAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")

EXPECTATION_CAP = 256

RawEvent = dict[str, str]


@dataclass(slots=True)
class Violation:
    messages: list[Message]
    body: str | None  # what the bad row keeps as the payload body


@dataclass(slots=True)
class Parsed:
    events: list[RawEvent] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)


def decode_base64(value: str) -> bytes:
    """Either alphabet, padding optional, stray characters skipped (as Snowplow's decoder does)."""
    translated = value.encode("ascii", "ignore").translate(URL_SAFE_TO_STANDARD)
    try:  # the usual case: the decoder skips stray characters itself, and surplus padding is harmless
        return base64.b64decode(translated + b"==")
    except binascii.Error:
        pass
    data = NOT_BASE64.sub(b"", translated)
    data = data[: len(data) - len(data) % 4] if len(data) % 4 == 1 else data  # a lone sextet holds no byte
    try:
        return base64.b64decode(data + b"=" * (-len(data) % 4))
    except binascii.Error:  # unreachable after cleaning; kept as a guard against a bug becoming a 500
        return b""


def parse_query(query_string: str) -> RawEvent:
    """Form-decoded (`+` is a space); a name without `=` has an empty value; the last of a repeated name wins."""
    params = {}
    for pair in query_string.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            # unquote_plus only where needed: most names and many values have nothing to decode
            params[unquote_plus(name) if "%" in name or "+" in name else name] = (
                unquote_plus(value) if "%" in value or "+" in value else value
            )
    return params


def _input(field_name: str, value: str | None, expectation: str) -> InputError:
    return InputError(field=field_name, value=value, expectation=expectation)


class Protocol:
    def __init__(self, registry: Registry, max_events: int) -> None:
        self.max_events = max_events
        # Each event of a batch is validated alone against the `items` of its payload_data version.
        self._event_validators: dict[str, Callable[[Any], Any]] = {}
        self._event_keys: dict[str, tuple[frozenset[str], frozenset[str]]] = {}  # (allowed, required)
        for uri in PAYLOAD_DATA:
            key = SchemaKey.of(uri)
            schema = registry.required_schema(key)
            self._event_validators[key.version] = Registry.compile(schema["items"])
            self._event_keys[key.version] = (
                frozenset(schema["items"]["properties"]),
                frozenset(schema["items"]["required"]),
            )

    def parse(self, request: CollectorRequest) -> Parsed:
        if request.method == "POST":
            return self._parse_post(request)
        event = parse_query(request.query_string)
        return Parsed(events=[event] if event else [])

    def _parse_post(self, request: CollectorRequest) -> Parsed:
        media_type = (request.content_type or "").split(";", 1)[0].strip().lower()
        if media_type not in JSON_TYPES:
            expectation = "expected application/json or text/plain"
            return _payload_violation([_input("contentType", request.content_type, expectation)], _text(request.body))
        if not request.body.strip():
            return _payload_violation([_input("body", None, "empty body: expected a payload_data JSON")], None)
        try:
            payload = orjson.loads(request.body)
        except orjson.JSONDecodeError as error:
            text = _text(request.body)
            return _payload_violation([FieldError(field="body", value=text, error=f"invalid JSON: {error}")], text)

        described = parse_self_describing(payload)
        if isinstance(described, Failure):
            return _payload_violation([described.message], _text(request.body))
        key, events = described.key, described.data
        if not key.matches(SNOWPLOW, "payload_data") or key.version not in self._event_validators:
            mismatch = CriterionMismatch(schemaKey=key.uri, schemaCriterion=PAYLOAD_DATA_CRITERION)
            return _payload_violation([mismatch], _text(request.body))
        if not isinstance(events, list) or not events:
            return _payload_violation([_input("data", None, "a non-empty array of events")], _text(request.body))
        if len(events) > self.max_events:
            expectation = f"at most {self.max_events} events per request, not {len(events)}: send smaller batches"
            return _payload_violation([_input("data", None, expectation)], _text(request.body))

        query = parse_query(request.query_string)
        validate = self._event_validators[key.version]
        allowed, required = self._event_keys[key.version]
        parsed = Parsed()
        for event in events:
            # The schema only asks for known keys, the required ones, and string values: checked
            # directly here; the validator runs only to word what is wrong.
            well_formed = (
                isinstance(event, dict)
                and required <= event.keys() <= allowed
                and all(type(value) is str for value in event.values())
            )
            problem = None if well_formed else _event_problem(validate, event)
            if problem is None:
                parsed.events.append({**event, **query})
            else:
                body = orjson.dumps({"schema": key.uri, "data": [event]}).decode()
                parsed.violations.append(Violation([problem.message], body))
        return parsed


def _event_problem(validate: Callable[[Any], Any], event: Any) -> Failure | None:
    """One event of a batch against payload_data's item schema: None, or why it is not a tracker event."""
    try:
        validate(event)
    except fastjsonschema.JsonSchemaException as failure:  # one error, or many with .errors
        errors = getattr(failure, "errors", [failure])
        detail = "; ".join(error.message.replace("data", "event", 1) for error in errors)
        expectation = f"a tracker event with string values for known parameters: {detail}"
        # The bad-row schema caps an expectation at 256 characters; an unknown key can be longer.
        return Failure(_input("data", None, expectation[:EXPECTATION_CAP]))
    return None


def _text(body: bytes) -> str:
    """The body as a bad row keeps it; decoded only when there is a bad row to keep it in."""
    return body.decode("utf-8", "replace")


def _payload_violation(messages: list[Message], body: str | None) -> Parsed:
    return Parsed(violations=[Violation(messages, body)])
