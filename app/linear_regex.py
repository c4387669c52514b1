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


def linear(compiled: re.Pattern[str]) -> Any:
    """The same pattern run by RE2, or by `re` on short strings only when RE2 cannot run it."""
    translated = _END_OF_STRING.sub(lambda found: found.group(1) or r"\z", compiled.pattern)
    try:
        return re2.compile(translated, _OPTIONS)
    except re2.error:
        return _BoundedBacktracking(compiled)


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
