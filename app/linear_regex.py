"""JSON Schema validators whose `pattern`s run in linear time, and whose error lists are bounded.

The contract: docs/behaviour.md#events.

Any event may name any schema, so a schema's `pattern` meets strings the client chose: with a
backtracking engine, `\\d+\\.\\d+\\.\\d+-?.*` against "1" × 40,000 takes seconds of CPU. fastjsonschema
compiles every `pattern`, `patternProperties` key and string `format` with Python's `re` into the
generated code's `REGEX_PATTERNS`; here each is swapped for its RE2 twin (linear in the input)
before the code runs. fastjsonschema's semantics stay: `pattern` searches, `$` is end of string.
A pattern RE2 cannot run (a lookaround or a back-reference needs backtracking) stays with `re`,
but only for strings of at most BACKTRACKING_MAX_CHARS characters: a longer one does not match.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial, update_wrapper
from re import _parser  # type: ignore[attr-defined]  # the parsed form tells how a pattern can backtrack
from typing import Any

import fastjsonschema
import re2  # type: ignore[import-untyped]

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is reported to the caller, not printed to stderr
# Python's \Z (end of string, what fastjsonschema turns `$` into) is RE2's \z; an escaped
# backslash before a Z is left alone.
_END_OF_STRING = re.compile(r"(\\\\)|\\Z")
# Enough for what such patterns check in practice (an e-mail address, an identifier); short
# enough that even a quadratic pattern costs well under a millisecond.
BACKTRACKING_MAX_CHARS = 256
# A pattern with one unbounded repeat runs on `re` up to this length: at most ~10,000 steps.
SHORT_MAX_CHARS = 100
MAX_ERRORS = 20  # errors reported per validation; past it, validation stops


class _BoundedBacktracking:
    """A `re` pattern RE2 cannot run, kept to short strings: a longer string does not match."""

    def __init__(self, compiled: re.Pattern[str]) -> None:
        self.compiled = compiled
        self.pattern = compiled.pattern

    def search(self, text: str) -> re.Match[str] | None:
        return self.compiled.search(text) if len(text) <= BACKTRACKING_MAX_CHARS else None

    def match(self, text: str) -> re.Match[str] | None:
        return self.compiled.match(text) if len(text) <= BACKTRACKING_MAX_CHARS else None


class ErrorBudget(list[Any]):
    """The errors a validation collects, stopping it at MAX_ERRORS: 300,000 wrong array items cost
    2.5 s of CPU to report one by one, and made a 36 MB bad row."""

    def append(self, error: Any) -> None:
        super().append(error)
        self._stop_when_full()

    def extend(self, errors: Any) -> None:
        super().extend(errors)
        self._stop_when_full()

    def _stop_when_full(self) -> None:
        if len(self) >= MAX_ERRORS:
            raise fastjsonschema.JsonSchemaValuesException(list(self[:MAX_ERRORS]))


class _ShortBacktracking:
    """A pattern with one unbounded repeat: `re` is quadratic at worst, cheap on short strings (the
    usual case: a date, an identifier), and RE2 takes the long ones."""

    def __init__(self, short: re.Pattern[str], long: Any) -> None:
        self.short, self.long = short, long
        self.pattern = short.pattern

    def search(self, text: str) -> Any:
        return (self.short if len(text) <= SHORT_MAX_CHARS else self.long).search(text)

    def match(self, text: str) -> Any:
        return (self.short if len(text) <= SHORT_MAX_CHARS else self.long).match(text)


def _unbounded_repeats(pattern: Any, anchored: bool = False) -> int | None:
    """How many repeats of more than one (`+`, `*`, `{2,}`, `{2,5}`) the parsed pattern has that
    give `re` a choice, or None when `re` could backtrack badly over it: a repeat inside another, a
    back-reference or a lookaround. A fixed count (`{4}`) or an optional part (`?`) adds no choice
    that grows with the input, so neither counts; nor, in a pattern anchored at the start, does a
    repeat of one character class followed by a character outside it or by the end (`[a-z]+/`):
    it can only stop where that character is."""
    count = 0
    items = list(pattern)
    for position, (op, argument) in enumerate(items):
        if op in (_parser.MAX_REPEAT, _parser.MIN_REPEAT, _parser.POSSESSIVE_REPEAT):
            choices = _repeat_choices(argument, anchored, items[position + 1 : position + 2])
            if choices is None:
                return None
            count += choices
        elif op is _parser.SUBPATTERN:
            inner = _unbounded_repeats(argument[-1])
            if inner is None:
                return None
            count += inner
        elif op is _parser.BRANCH:
            branches = [_unbounded_repeats(branch) for branch in argument[1]]
            if None in branches:
                return None
            count += max(branch for branch in branches if branch is not None)
        elif op in (
            _parser.GROUPREF,
            _parser.GROUPREF_EXISTS,
            _parser.ASSERT,
            _parser.ASSERT_NOT,
            _parser.ATOMIC_GROUP,
        ):
            return None
    return count


def _repeat_choices(argument: Any, anchored: bool, following: list[Any]) -> int | None:
    """_unbounded_repeats of one repeat, given the item after it."""
    low, high, body = argument
    inner = _unbounded_repeats(body)
    if inner is None:
        return None
    if high == 1 or low == high:  # optional, or a fixed count: its body's own choices only
        if low > 1 and (inner or len(set(body.getwidth())) > 1):
            return None  # `(a+){3}`, `(a|aa){30}`: the choices multiply
        return inner
    if inner:
        return None  # `(a+)+`: the classic exponential case
    return 0 if anchored and _stops_at_one_place(body, following) else 1


_ENDS = (_parser.AT_END, _parser.AT_END_STRING)
_CATEGORIES = {  # as `re` reads them with re.ASCII, the flag of the twin pattern
    _parser.CATEGORY_DIGIT: frozenset(range(48, 58)),
    _parser.CATEGORY_WORD: frozenset(ord(c) for c in "_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    _parser.CATEGORY_SPACE: frozenset(ord(c) for c in " \t\n\r\f\v"),
}


def _stops_at_one_place(body: Any, following: list[Any]) -> bool:
    """A repeat of one character class, followed by the end of the string or by a character that
    the class does not hold: only one length of the repeat can lead to a match."""
    repeated = _characters(list(body))
    if repeated is None or len(following) != 1:
        return False
    op, argument = following[0]
    if op is _parser.AT:
        return argument in _ENDS
    after = _characters(following)
    return after is not None and not repeated & after


def _characters(items: list[Any]) -> frozenset[int] | None:
    """The characters one parsed item matches, when it is a single character (class) of known,
    small extent; None otherwise."""
    if len(items) != 1:
        return None
    op, argument = items[0]
    if op is _parser.LITERAL:
        return frozenset({argument})
    if op is not _parser.IN:
        return None
    found: set[int] = set()
    for kind, value in argument:
        if kind is _parser.LITERAL:
            found.add(value)
        elif kind is _parser.RANGE and value[1] - value[0] < 0x3000:
            found.update(range(value[0], value[1] + 1))
        elif kind is _parser.CATEGORY and value in _CATEGORIES:
            found |= _CATEGORIES[value]
        else:  # a negated class, or one too large to list: unknown
            return None
    return frozenset(found)


def _anchored(pattern: Any) -> bool:
    """The pattern can only match at the start of the string (`^`, without MULTILINE)."""
    items = list(pattern)
    if not items:
        return False
    op, argument = items[0]
    if op is _parser.AT:
        return bool(argument in (_parser.AT_BEGINNING, _parser.AT_BEGINNING_STRING))
    if op is _parser.BRANCH:
        return all(_anchored(branch) for branch in argument[1])
    return False


def _backtracking_twin(compiled: re.Pattern[str]) -> tuple[re.Pattern[str], int] | None:
    """The pattern for `re` with RE2's meaning of \\d, \\w, \\s (ASCII, as in ECMA 262), and its
    unbounded repeats, when `re` can run it safely on some strings."""
    try:
        parsed = _parser.parse(compiled.pattern)
        repeats = _unbounded_repeats(parsed, _anchored(parsed) and not compiled.flags & re.MULTILINE)
    except re.error:
        return None
    return None if repeats is None else (re.compile(compiled.pattern, re.ASCII), repeats)


def linear(compiled: re.Pattern[str]) -> Any:
    """The fastest engine that stays linear: `re` where it cannot backtrack over the input (no
    unbounded repeat: a UUID, a fixed-width code; about 20 times faster than RE2's Python binding),
    `re` on short strings where one unbounded repeat bounds it to quadratic, RE2 otherwise, and
    `re` on short strings only when RE2 cannot run the pattern."""
    twin = _backtracking_twin(compiled)
    if twin is not None and twin[1] == 0:
        return twin[0]
    translated = _END_OF_STRING.sub(lambda found: found.group(1) or r"\z", compiled.pattern)
    try:
        linear_engine = re2.compile(translated, _OPTIONS)
    except re2.error:
        return _BoundedBacktracking(compiled)
    return _ShortBacktracking(twin[0], linear_engine) if twin is not None and twin[1] == 1 else linear_engine


def compile_linear(
    definition: dict[str, Any], handlers: dict[str, Any], formats: dict[str, Any], fast_fail: bool
) -> Callable[[Any], Any]:
    """fastjsonschema.compile, with every regular expression of the generated code run by RE2."""
    resolver, generator = fastjsonschema._factory(definition, handlers, formats, use_default=True, fast_fail=fast_fail)
    namespace = generator.global_state  # generates the code, filling REGEX_PATTERNS
    patterns = namespace["REGEX_PATTERNS"]
    for name, compiled in list(patterns.items()):
        patterns[name] = linear(compiled)
    code = generator.func_code
    if not fast_fail:  # every error is collected: only the first MAX_ERRORS, then validation stops
        code = code.replace("errors = []", "errors = ErrorBudget()")
        namespace["ErrorBudget"] = ErrorBudget
    exec(code, namespace)  # what fastjsonschema.compile does with its own namespace
    validate = namespace[resolver.get_scope_name()]
    if formats:
        return update_wrapper(partial(validate, custom_formats=formats), validate)
    return validate  # type: ignore[no-any-return]
