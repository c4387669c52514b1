"""What every enrichment shares: the config it is built from, the per-event context it reads,
and the one value it returns (derived entities and/or a failure for this event only).

An enrichment is built once at start-up; `apply` then runs per event, is pure over the event
and its context (no I/O), and fills atomic fields of `event` in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, cast

from app.badrows import ANONYMOUS_DROPS
from app.failures import Failure, IgluError
from app.iglu import Registry, SchemaKey
from app.protocol import RawEvent
from app.request import CollectorRequest

Entity = dict[str, Any]  # a self-describing JSON: {"schema": "iglu:...", "data": {...}}


class EnrichmentConfigError(Exception):
    """A configuration file (or a data file it names) cannot be used; the message names both."""


@dataclass(frozen=True, slots=True)
class EnrichmentConfig:
    path: Path  # the file it came from, for messages
    key: SchemaKey
    name: str
    enabled: bool
    parameters: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)  # the whole `data` object, for options beside parameters

    def problem(self, message: str) -> EnrichmentConfigError:
        return EnrichmentConfigError(f"{self.path}: {self.name}: {message}")


@dataclass(frozen=True, slots=True)
class Outcome:
    entities: tuple[Entity, ...] = ()
    failure: Failure | None = None  # made by badrows.input_data or enrichment_error; the chain names the enrichment


NOTHING = Outcome()


@dataclass(slots=True)
class EventContext:
    """What an enrichment may read besides the event: the request and the tracker's raw parameters."""

    params: RawEvent
    request: CollectorRequest
    anonymous: bool  # SP-Anonymous: nothing IP-based, no identifying headers or cookies
    client_ip: str | None  # the full address, in memory only (before any anonymisation); None if unknown
    derived: list[Entity] = field(default_factory=list)  # entities derived so far (PII may rewrite them)


def validation_details(invalid: Failure) -> dict[str, Any]:
    """The `error` object of a failed `Registry.validate` (its IgluError): ResolutionError or
    ValidationError, with the reports that say why."""
    return cast(IgluError, invalid.message)["error"]


class Enrichment(Protocol):
    @property
    def config(self) -> EnrichmentConfig: ...

    def apply(self, event: dict[str, Any], context: EventContext) -> Outcome: ...


class DataFiles(Protocol):
    """Gives the local path of a data file named by `{"uri": ..., "database": ...}` in a config."""

    def fetch(self, config: EnrichmentConfig, location: dict[str, Any]) -> Path: ...


@dataclass(frozen=True, slots=True)
class Setup:
    """What builders may use besides their config: data files, and the settings some enrichments honour."""

    files: DataFiles
    cookie_name: str = "sp"  # the collector's own cookie, never extracted under SP-Anonymous
    identifying_headers: frozenset[str] = ANONYMOUS_DROPS  # never extracted under SP-Anonymous
    anonymous_geo: Literal["none", "country", "region"] = "none"  # COLLECTOR_ANONYMOUS_GEO
    registry: Registry | None = None  # to check that what an enrichment wrote fits its schema (PII, cross navigation)
