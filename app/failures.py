"""One way for a stage to say "failed": a `Failure` holding the bad-row message that explains it.

A stage returns its value or a `Failure` (`Result[T]`), or `Failure | None` when there is no value
to return, and the caller asks `isinstance(result, Failure)`. The messages are typed after the
failure details of Snowplow's bad-row schemas (docs/behaviour.md#bad-rows), which carry them as
they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NotRequired, TypeAlias, TypedDict, TypeVar, Union


class NotIglu(TypedDict):
    """A value that should be self-describing JSON and is not."""

    json: Any
    error: str  # INVALID_DATA_PAYLOAD, INVALID_SCHEMA, INVALID_SCHEMAVER or INVALID_IGLUURI


class CriterionMismatch(TypedDict):
    """Self-describing JSON of another schema than the one expected here."""

    schemaKey: str
    schemaCriterion: str


class DataReport(TypedDict):
    """One way a value fails its schema: what, where, and by which keyword."""

    message: str
    path: str
    keyword: str | None
    targets: list[str] | None


class IgluError(TypedDict):
    """Validation against a schema failed (ValidationError), or the schema was not found (ResolutionError)."""

    schemaKey: str
    error: dict[str, Any]


class InputError(TypedDict):
    """A field of the request that is not what the protocol expects."""

    field: str
    value: str | None
    expectation: str


class FieldError(TypedDict):
    """A field whose value could not be read at all (JSON that does not parse, nests too deep...)."""

    field: str
    value: str | None
    error: str


class RepositoryError(TypedDict):
    """Why one registry did not give a schema: NotFound, RepoFailure or ClientFailure."""

    error: str
    message: NotRequired[str]


class EnrichmentError(TypedDict):
    """What an enrichment could not do, in words (the simple message of enrichment_failures)."""

    error: str


class EnrichmentId(TypedDict):
    """The configured enrichment a failure came from: its config schema and its name."""

    schemaKey: str
    identifier: str


class EnrichmentMessage(TypedDict):
    """One message of an enrichment_failures bad row: which enrichment failed (None for what Enrich
    always does, such as reading `_sp`) and how."""

    enrichment: EnrichmentId | None
    message: InputError | EnrichmentError


Message = (
    NotIglu
    | CriterionMismatch
    | IgluError
    | InputError
    | FieldError
    | RepositoryError
    | EnrichmentError
    | EnrichmentMessage
)


@dataclass(frozen=True, slots=True)
class Failure:
    message: Message

    def explain(self) -> str:
        """The message as one sentence for a person (a 4xx body, say)."""
        message: Any = self.message
        return str(message.get("expectation") or message.get("error") or message)


T = TypeVar("T")
Result: TypeAlias = Union[T, Failure]  # noqa: UP007 - `T | Failure` is not a generic alias before 3.12
