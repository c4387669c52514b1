"""pii_enrichment_config 2-0-x: pseudonymises the configured atomic fields and JSON paths (in contexts,
the self-describing event and derived contexts) as Enrich does: the hex digest of the value followed
by the salt. It runs last, over what every other enrichment wrote.

A pseudonymised entity must still be valid against its schema (a hash may break a format or a
length); one that is not fails this event (an enrichment_failures bad row) rather than leaving it
valid-looking and wrong. `anonymousOnly` applies it to SP-Anonymous events only; `emitEvent`
(pii_transformation events) is not supported and is refused at start-up.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.badrows import input_data
from app.enrichments.base import NOTHING, EnrichmentConfig, EventContext, Outcome, Setup, validation_details
from app.enrichments.json_path import JsonPathError, Step, compile_path, rewrite
from app.failures import Failure
from app.iglu import Registry, SchemaKey, parse_self_describing

HASHES: dict[str, Callable[[bytes], Any]] = {
    "MD2": lambda data: _md2(data),
    "MD5": hashlib.md5,
    "SHA-1": hashlib.sha1,
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}
CRITERION = re.compile(r"^iglu:([a-zA-Z0-9-_.]+)/([a-zA-Z0-9-_]+)/([a-zA-Z0-9-_]+)/([1-9][0-9]*|\*)-(\d+|\*)-(\d+|\*)$")


def _md2(data: bytes) -> Any:
    return hashlib.new("md2", data)  # only where the local OpenSSL still has it


@dataclass(frozen=True, slots=True)
class JsonField:
    field: str  # contexts, unstruct_event or derived_contexts
    criterion: tuple[str, ...]  # vendor, name, format, model, revision, addition; `*` matches any
    path: tuple[Step, ...]

    def matches(self, key: SchemaKey) -> bool:
        model, revision, addition = key.version.split("-")
        actual = (key.vendor, key.name, key.format, model, revision, addition)
        return all(want in ("*", have) for want, have in zip(self.criterion, actual, strict=True))


@dataclass(frozen=True, slots=True)
class Pii:
    config: EnrichmentConfig
    hash: Callable[[bytes], Any]
    salt: str
    atomic: tuple[str, ...]
    json_fields: tuple[JsonField, ...]
    anonymous_only: bool
    registry: Registry | None

    def pseudonymise(self, value: str) -> str:
        return str(self.hash((value + self.salt).encode()).hexdigest())

    def apply(self, event: dict[str, Any], context: EventContext) -> Outcome:
        if self.anonymous_only and not context.anonymous:
            return NOTHING
        for name in self.atomic:
            value = event.get(name)
            if isinstance(value, str) and value:
                event[name] = self.pseudonymise(value)
        for json_field in self.json_fields:
            for entity in self._entities(event, context, json_field.field):
                parsed = parse_self_describing(entity)
                if isinstance(parsed, Failure) or not json_field.matches(parsed.key):
                    continue
                if rewrite(parsed.data, json_field.path, self.pseudonymise) and self.registry is not None:
                    invalid = self.registry.validate(parsed.key, parsed.data)
                    if invalid is not None:
                        why = str(validation_details(invalid))[:150]
                        return Outcome(
                            failure=input_data(
                                json_field.field,
                                parsed.key.uri,
                                f"the pseudonymised entity to stay valid against its schema: {why}",
                            )
                        )
        return NOTHING

    @staticmethod
    def _entities(event: dict[str, Any], context: EventContext, field: str) -> list[Any]:
        if field == "derived_contexts":
            return context.derived
        if field == "contexts":
            return list((event.get("contexts") or {}).get("data") or [])
        inner = (event.get("unstruct_event") or {}).get("data")
        return [inner] if inner else []


def build(config: EnrichmentConfig, setup: Setup) -> Pii:
    if config.data.get("emitEvent"):
        raise config.problem("emitEvent (pii_transformation events) is not supported; set it to false")
    strategy = config.parameters["strategy"]["pseudonymize"]
    hash_name = strategy["hashFunction"]
    if hash_name == "MD2" and "md2" not in hashlib.algorithms_available:
        raise config.problem("MD2 is not available in this Python's OpenSSL; choose another hashFunction")
    atomic, json_fields = [], []
    for item in config.parameters["pii"]:
        if "pojo" in item:
            atomic.append(item["pojo"]["field"])
            continue
        spec = item["json"]
        try:
            path = compile_path(spec["jsonPath"])
        except JsonPathError as error:
            raise config.problem(f"jsonPath {error}") from None
        match = CRITERION.match(spec["schemaCriterion"])
        if match is None:
            raise config.problem(f"schemaCriterion {spec['schemaCriterion']!r} is not an Iglu schema criterion")
        json_fields.append(JsonField(spec["field"], match.groups(), path))
    return Pii(
        config,
        HASHES[hash_name],
        strategy["salt"],
        tuple(atomic),
        tuple(json_fields),
        config.data.get("anonymousOnly") is True,
        setup.registry,
    )
