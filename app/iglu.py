"""Iglu: schema keys, the local registry, and validators compiled once per schema.

A failure is returned as a `Failure` holding the bad-row message that Snowplow would write
(`IgluError`, `NotIglu`, `CriterionMismatch`), never raised.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastjsonschema
import orjson

from app.clock import iso_now
from app.failures import CriterionMismatch, DataReport, Failure, IgluError, NotIglu, Result
from app.ids import UUID_PATTERN
from app.iglu_remote import RemoteRepository

# \Z, not $: `$` also matches before a final newline, so "<uuid>\n" or "iglu:...\n" would pass.
IGLU_URI = re.compile(
    r"^iglu:([a-zA-Z0-9\-_.]+)/([a-zA-Z0-9\-_]+)/([a-zA-Z0-9\-_]+)/([1-9][0-9]*|0)-([0-9]+)-([0-9]+)\Z"
)
DRAFT4 = "http://json-schema.org/draft-04/schema#"
LOCAL_REPOSITORY = "local schemas"
# The local folder's part of every failed lookup; its time is filled in when reported.
_LOCAL_NOT_FOUND = (
    {"repository": LOCAL_REPOSITORY, "errors": [{"error": "NotFound"}], "attempts": 1, "lastAttempt": None},
)


class MissingSchemas(RuntimeError):
    """The schemas folder lacks schemas the service relies on."""

    def __init__(self, root: Path, uris: list[str]) -> None:
        super().__init__(f"schemas folder {root} lacks {', '.join(uris)}")


@dataclass(frozen=True, slots=True)
class SchemaKey:
    vendor: str
    name: str
    format: str
    version: str  # MODEL-REVISION-ADDITION

    @staticmethod
    def parse(uri: str) -> SchemaKey | None:
        return _parse_uri(uri)

    @staticmethod
    def of(uri: str) -> SchemaKey:
        """The key of a URI written in the code (app/schemas.py), which is always valid."""
        key = _parse_uri(uri)
        if key is None:
            raise ValueError(f"not an Iglu URI: {uri}")
        return key

    @property
    def uri(self) -> str:
        return f"iglu:{self.vendor}/{self.name}/{self.format}/{self.version}"

    @property
    def model(self) -> str:
        return self.version.split("-", 1)[0]

    def matches(self, vendor: str, name: str, model: str = "1") -> bool:
        """The criterion `iglu:vendor/name/jsonschema/model-*-*`."""
        return self.vendor == vendor and self.name == name and self.format == "jsonschema" and self.model == model


@lru_cache(maxsize=4096)
def _parse_uri(uri: str) -> SchemaKey | None:
    """Cached: the same few schema URIs arrive on nearly every event."""
    match = IGLU_URI.match(uri)
    if match is None:
        return None
    vendor, name, fmt, model, revision, addition = match.groups()
    if vendor.startswith(".") or ".." in vendor:
        return None  # it would name a path outside the registry's folder
    return SchemaKey(vendor, name, fmt, f"{model}-{revision}-{addition}")


@dataclass(frozen=True, slots=True)
class SelfDescribing:
    key: SchemaKey
    data: Any


def not_iglu(json: Any, error: str) -> Failure:
    return Failure(NotIglu(json=json, error=error))


def parse_self_describing(value: Any) -> Result[SelfDescribing]:
    """Split a self-describing JSON into its key and data, or fail with a NotIglu message."""
    if not isinstance(value, dict) or "data" not in value:
        return not_iglu(value, "INVALID_DATA_PAYLOAD")
    schema = value.get("schema")
    if not isinstance(schema, str):
        return not_iglu(value, "INVALID_SCHEMA")
    key = SchemaKey.parse(schema)
    if key is None:
        error = "INVALID_SCHEMAVER" if schema.startswith("iglu:") and schema.count("/") == 3 else "INVALID_IGLUURI"
        return not_iglu(value, error)
    return SelfDescribing(key, value["data"])


def _json_path(path: list[str]) -> str:
    """fastjsonschema's ['data', 'items', '0', 'id'] as the JSONPath `$.items[0].id`."""
    out = "$"
    for part in path[1:]:
        out += f"[{part}]" if part.isdigit() else f".{part}"
    return out


def _report(error: fastjsonschema.JsonSchemaValueException) -> DataReport:
    message = error.message.replace("data", "$", 1) if error.message.startswith("data") else error.message
    target = error.rule_definition
    return DataReport(
        message=message,
        path=_json_path(error.path),
        keyword=error.rule,
        targets=target if isinstance(target, list) else None,
    )


class _NoRemoteRefs(dict[str, Callable[[str], Any]]):
    """`$ref` to a URL must not make a request at validation time."""

    def __contains__(self, scheme: object) -> bool:
        # fastjsonschema asks `scheme in handlers` before calling one, and fetches with urlopen
        # when the answer is no: claim every scheme so that `__missing__` refuses it instead.
        return True

    def __missing__(self, scheme: str) -> Callable[[str], Any]:
        def refuse(uri: str) -> Any:
            raise fastjsonschema.JsonSchemaDefinitionException(f"remote $ref not allowed: {uri}")

        return refuse


def _unusable(reason: str) -> Callable[[Any], Any]:
    """A validator for a schema that cannot be compiled: every call says why."""

    def refuse(_: Any) -> Any:
        raise fastjsonschema.JsonSchemaDefinitionException(reason)

    return refuse


@dataclass(slots=True)
class _Resolved:
    validator: Callable[[Any], Any] | None
    history: list[dict[str, Any]]  # the lookups that failed, for a ResolutionError
    expires: float


class Registry:
    """The local schemas folder (Iglu layout), then remote registries in priority order.

    Every schema is compiled once. Local schemas are kept for good; what the remote registries
    said is kept in a bounded cache for `ttl_s`, and a schema none of them had (or a registry
    failure) for `negative_ttl_s`, so a missing schema or a registry that is down costs one
    lookup per interval, not one per event.
    """

    def __init__(
        self,
        root: Path,
        remotes: Sequence[RemoteRepository] = (),
        *,
        cache_size: int = 1000,
        ttl_s: float = 600.0,
        negative_ttl_s: float = 30.0,
    ) -> None:
        self.root = root
        self.remotes = list(remotes)
        self.cache_size = cache_size
        self.ttl_s = ttl_s
        self.negative_ttl_s = negative_ttl_s
        self._local: dict[SchemaKey, _Resolved] = {}
        self._cache: OrderedDict[SchemaKey, _Resolved] = OrderedDict()  # remote schemas and all misses
        self._lock = threading.Lock()

    @property
    def may_block(self) -> bool:
        """Whether a lookup can wait on the network (then callers keep it off the event loop)."""
        return bool(self.remotes)

    def schema(self, key: SchemaKey) -> dict[str, Any] | None:
        path = self.root / key.vendor / key.name / key.format / key.version
        try:
            schema = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        return schema if isinstance(schema, dict) else None

    def required_schema(self, key: SchemaKey) -> dict[str, Any]:
        """A schema the service cannot run without (app/schemas.py); its absence stops start-up."""
        schema = self.schema(key)
        if schema is None:
            raise MissingSchemas(self.root, [key.uri])
        return schema

    def keys(self) -> list[SchemaKey]:
        found = []
        for path in sorted(self.root.glob("*/*/*/*-*-*")):
            key = SchemaKey.parse(
                f"iglu:{path.parent.parent.parent.name}/{path.parent.parent.name}/{path.parent.name}/{path.name}"
            )
            if key is not None and key.format == "jsonschema":  # Avro or Thrift schemas validate nothing here
                found.append(key)
        return found

    def validator(self, key: SchemaKey) -> Callable[[Any], Any] | None:
        return self._resolve(key).validator

    def _resolve(self, key: SchemaKey) -> _Resolved:
        local = self._local.get(key)
        if local is not None:
            return local
        now = time.monotonic()
        with self._lock:  # with remote registries, lookups run in several threads at once
            cached = self._cache.get(key)
            if cached is not None and cached.expires > now:
                self._cache.move_to_end(key)
                return cached
        schema = self.schema(key)
        if schema is not None:
            resolved = self._local[key] = _Resolved(self._compile_or_refuse(schema), [], 0)
            return resolved
        # A miss is kept in the bounded cache, never for good: clients choose which keys they send.
        resolved = (
            self._ask_remotes(key, now)
            if self.remotes
            else _Resolved(None, list(_LOCAL_NOT_FOUND), now + self.negative_ttl_s)
        )
        with self._lock:
            self._cache[key] = resolved
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return resolved

    def _ask_remotes(self, key: SchemaKey, now: float) -> _Resolved:
        history = list(_LOCAL_NOT_FOUND)
        path = f"{key.vendor}/{key.name}/{key.format}/{key.version}"
        for remote in self.remotes:
            fetched = remote.fetch(path)
            if not isinstance(fetched, Failure):
                return _Resolved(self._compile_or_refuse(fetched), [], now + self.ttl_s)
            attempt = {"repository": remote.name, "errors": [fetched.message], "attempts": 1, "lastAttempt": iso_now()}
            history.append(attempt)
        return _Resolved(None, history, now + self.negative_ttl_s)

    def close(self) -> None:
        for remote in self.remotes:
            remote.close()

    def problem(self, key: SchemaKey) -> str | None:
        """Why the local schema `key` cannot be used, or None when it compiles."""
        schema = self.schema(key)
        if schema is None:
            return "not found or not JSON"
        try:
            self.compile(schema)
        except fastjsonschema.JsonSchemaDefinitionException as issue:
            return str(issue)
        return None

    def _compile_or_refuse(self, schema: dict[str, Any]) -> Callable[[Any], Any]:
        try:
            return self.compile(schema)
        except fastjsonschema.JsonSchemaDefinitionException as issue:
            # e.g. a refused remote $ref: remembered, and reported by `validate` as a schema issue
            # (a bad row), never raised out of a request.
            return _unusable(str(issue))

    @staticmethod
    def compile(schema: dict[str, Any]) -> Callable[[Any], Any]:
        # Iglu's meta-schema URI would make fastjsonschema pick the newest draft; Iglu schemas are draft 4.
        draft4 = {**schema, "$schema": DRAFT4}
        return fastjsonschema.compile(draft4, handlers=_NoRemoteRefs(), formats={"uuid": UUID_PATTERN}, fast_fail=False)

    def validate(self, key: SchemaKey, data: Any) -> Failure | None:
        """None when `data` is valid against `key`, else a Failure with an IgluError message."""
        resolved = self._resolve(key)
        validate = resolved.validator
        if validate is None:
            history = [{**entry, "lastAttempt": entry.get("lastAttempt") or iso_now()} for entry in resolved.history]
            return Failure(IgluError(schemaKey=key.uri, error={"error": "ResolutionError", "lookupHistory": history}))
        try:
            validate(data)
        except fastjsonschema.JsonSchemaDefinitionException as issue:
            issues = [{"path": "$", "message": str(issue)}]
            return Failure(IgluError(schemaKey=key.uri, error={"error": "ValidationError", "schemaIssues": issues}))
        except fastjsonschema.JsonSchemaValuesException as failure:
            reports = [_report(error) for error in failure.errors]
        except fastjsonschema.JsonSchemaValueException as failure:
            reports = [_report(failure)]
        else:
            return None
        return Failure(IgluError(schemaKey=key.uri, error={"error": "ValidationError", "dataReports": reports}))

    def check_self_describing(self, value: Any, vendor: str, name: str) -> Result[SelfDescribing]:
        """Parse `value` as a self-describing JSON of `vendor/name/jsonschema/1-*-*` and validate it whole."""
        parsed = parse_self_describing(value)
        if isinstance(parsed, Failure):
            return parsed
        if not parsed.key.matches(vendor, name):
            criterion = f"iglu:{vendor}/{name}/jsonschema/1-*-*"
            return Failure(CriterionMismatch(schemaKey=parsed.key.uri, schemaCriterion=criterion))
        return self.validate(parsed.key, parsed.data) or parsed
