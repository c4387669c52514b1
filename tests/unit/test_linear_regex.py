"""Schema patterns run in linear time (app/linear_regex.py), with fastjsonschema's meaning kept."""

from __future__ import annotations

import re
import time
from pathlib import Path

import fastjsonschema
import orjson
import pytest
import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from app.iglu import Registry, SchemaKey
from app.linear_regex import BACKTRACKING_MAX_CHARS, MAX_ERRORS, SHORT_MAX_CHARS, linear

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
        (r"^\d{2}$", "１２", False),  # on the fast `re` path too, \d is ASCII
        (r"^\d{2}$", "12", True),
        (r"^[a-z]+\.\d+$", "v" * (SHORT_MAX_CHARS + 1) + ".1", True),  # one unbounded repeat, past the `re` length: RE2
        (r"^\w{3}$", "é12", False),
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


@pytest.mark.parametrize(
    ("pattern", "engine"),
    [
        (r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}\Z|^[0-9a-f]{16}\Z", re.Pattern),  # nothing to backtrack over
        (r"^iglu:[a-z]+/[a-z]+\Z", re.Pattern),  # anchored, each repeat stops at one place: `/`, the end
        (r"^[a-z]+[a-z0-9]+/", "short"),  # the first repeat can stop anywhere: one choice
        (r"[a-z]+/[a-z]+/", re2._Regexp),  # not anchored: every start is tried, each repeat a choice
        (r"^\d+\.\d+\.\d+-?.*", re2._Regexp),  # `-?` and `.*` follow: two choices
        (r"^[^/]+/[^/]+/", re2._Regexp),  # negated classes are not listed: choices, conservatively
        (r"^\d+\Z", re.Pattern),  # anchored, and the repeat can only stop at the end
        (r"^\d+x?\Z", "short"),  # one repeat with a choice: `re` up to SHORT_MAX_CHARS, then RE2
        (r"^\d{4}(?:\.\d+)?\Z", "short"),  # an optional part adds no choice that grows
        (r"^(a+)+\Z", re2._Regexp),  # nested repeats: exponential in `re`
        (r"^(a|aa){30}\Z", re2._Regexp),  # a fixed count of variable-width choices multiplies them
        (r"^(a?){30}\Z", re2._Regexp),
        (r"^(?!admin)[a-z]+\Z", "bounded"),  # RE2 cannot run it: `re` on short strings only
    ],
)
def test_each_pattern_gets_the_fastest_engine_that_stays_linear(pattern: str, engine):
    chosen = linear(re.compile(pattern))
    if engine == "short":
        assert type(chosen).__name__ == "_ShortBacktracking"
    elif engine == "bounded":
        assert type(chosen).__name__ == "_BoundedBacktracking"
    else:
        assert isinstance(chosen, engine)


def local_patterns() -> list[str]:
    """Every `pattern` of the shipped schemas (where a schema is found, its patterns run)."""
    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.add(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in SCHEMAS.rglob("*"):
        if path.is_file() and path.name[0].isdigit():
            walk(orjson.loads(path.read_bytes()))
    return sorted(found)


@pytest.mark.parametrize("pattern", local_patterns())
def test_the_fast_engine_agrees_with_re2_on_every_local_schema_pattern(pattern: str):
    """Where a pattern runs on `re`, it answers as RE2 does: on strings made to match it, and on
    the same strings cut, doubled, padded, and with non-ASCII digits and letters."""
    as_fastjsonschema = END.sub(r"\\Z", pattern)  # `$` is the end of the string
    fast = linear(re.compile(as_fastjsonschema))
    reference = re2.compile(END.sub(r"\\z", pattern))
    if isinstance(fast, re2._Regexp):
        return  # RE2 itself runs it

    @settings(max_examples=60, derandomize=True, deadline=None)
    @given(st.from_regex(re.compile(pattern, re.ASCII)))
    def agrees(text: str) -> None:
        for variant in (text, text[:-1], text + text, " " + text, text + "\n", text.replace("1", "١"), text + "é"):
            assert bool(fast.search(variant)) == bool(reference.search(variant)), variant

    agrees()


END = re.compile(r"(?<!\\)\$")


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (r"^iglu:[a-z.]+/[a-z_]+/[a-z]+/[0-9]+-[0-9]+-[0-9]+$", "iglu:" + "a" * 200_000),
        (r"^iglu:[a-z.]+/[a-z_]+/[a-z]+/[0-9]+-[0-9]+-[0-9]+$", "iglu:a/b/c/" + "1" * 200_000 + "-"),
        (r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$", "0" * 200_000),
    ],
    ids=["long-vendor", "long-version", "long-hex"],
)
def test_hostile_strings_on_the_fast_engine_cost_microseconds(pattern: str, text: str):
    """The patterns that run on `re` stay linear: 200,000 characters in well under a second."""
    assert not valid(pattern, text)
    assert cpu_seconds(lambda: valid(pattern, text)) < 0.2
