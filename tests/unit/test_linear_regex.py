"""Schema patterns run in linear time (app/linear_regex.py), with fastjsonschema's meaning kept."""

from __future__ import annotations

import time
from pathlib import Path

import fastjsonschema
import pytest

from app.iglu import Registry, SchemaKey
from app.linear_regex import BACKTRACKING_MAX_CHARS, MAX_ERRORS

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
LOCAL = Registry(SCHEMAS)
TASK_UPDATE = SchemaKey("com.snowplowanalytics.factotum", "task_update", "jsonschema", "1-0-0")
BAD_ROW_SCHEMAS = [key for key in LOCAL.keys() if key.vendor == "com.snowplowanalytics.snowplow.badrows"]


@pytest.mark.parametrize("key", LOCAL.keys(), ids=lambda key: key.uri)
def test_every_local_schema_compiles(key: SchemaKey):
    assert LOCAL.problem(key) is None


def valid(pattern: str, text: str) -> bool:
    validate = Registry.compile({"type": "string", "pattern": pattern})
    try:
        validate(text)
    except fastjsonschema.JsonSchemaException:  # one error, or several (fast_fail is off)
        return False
    return True


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        (r"\d+\.\d+", "v1.2 beta", True),  # search, not match: unanchored patterns match inside
        (r"^\d+\.\d+$", "1.2", True),
        (r"^\d+\.\d+$", "1.2\n", False),  # `$` is the end of the string, not before a final newline
        (r"^\d+$", "１２", False),  # \d is an ASCII digit, as in ECMA 262
        (r"^[a-z]+\\Z$", "ab\\Z", True),  # an escaped backslash before Z stays a literal
        (r"^(?!admin)[a-z]+$", "alice", True),  # a lookahead RE2 cannot run: `re`, on short strings
        (r"^(?!admin)[a-z]+$", "admin", False),
        (r"^(?!admin)[a-z]+$", "a" * (BACKTRACKING_MAX_CHARS + 1), False),  # too long to backtrack over
        (r"^(a)\1$", "aa", True),  # a back-reference, likewise
    ],
)
def test_pattern_semantics(pattern: str, text: str, expected: bool):
    assert valid(pattern, text) is expected


def cpu_seconds(work) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


@pytest.mark.parametrize("key", [TASK_UPDATE, *BAD_ROW_SCHEMAS], ids=lambda key: key.uri)
def test_hostile_strings_cost_microseconds_not_seconds(key: SchemaKey):
    """`\\d+\\.\\d+\\.\\d+-?.*` against 40,000 "1"s took 7.7 s with a backtracking engine."""
    hostile = "1" * 40_000
    data = {"jobName": "j", "applicationContext": {"version": hostile, "name": "n"}, "processor": {"version": hostile}}
    LOCAL.validator(key)  # compiled first: the cost measured is validation's
    assert cpu_seconds(lambda: LOCAL.validate(key, data)) < 0.05


def test_validation_stops_after_max_errors():
    """300,000 wrong array items were 300,000 reports (2.5 s of CPU, a 36 MB bad row)."""
    validate = Registry.compile({"type": "array", "items": {"type": "string"}})
    wrong = [1] * 300_000
    reported: list[int] = []

    def check() -> None:
        try:
            validate(wrong)
        except fastjsonschema.JsonSchemaValuesException as failure:
            reported.append(len(failure.errors))

    assert cpu_seconds(check) < 0.05
    assert reported == [MAX_ERRORS]
    with pytest.raises(fastjsonschema.JsonSchemaValuesException) as few:
        validate(["a", 1, "b", 2])
    assert [error.path for error in few.value.errors] == [["data", "1"], ["data", "3"]]  # fewer: all of them
