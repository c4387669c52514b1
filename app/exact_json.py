"""JSON numbers kept exactly as sent, where orjson would round them.

orjson reads an integer beyond 64 bits as a float (`123456789012345678901234567890` becomes
`1.2345678901234568e+29`) and a float to the nearest double; Enrich (circe) keeps the number's
text. `loads` re-reads, with the standard library, only JSON that holds a run of 19 or more
digits (an integer of fewer fits 64 bits), found by a byte translation and a substring search
(cheaper than a regular expression on the hot path). Such numbers become `ExactInt`/`ExactFloat`, still an int
or a float to the schema validators, and `dumps` writes their text back unchanged; decimals
of the atomic fields (`Decimal`) are written as JSON numbers with every digit too.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson

# Every ASCII digit becomes "0", every other byte a space: a run of 19 digits becomes "0" * 19.
DIGITS_ONLY = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
LONG_RUN = b"0" * 19
I64_MIN, U64_MAX = -(2**63), 2**64 - 1


class ExactInt(int):
    """An integer orjson cannot write (beyond 64 bits)."""


class ExactFloat(float):
    """A JSON number with a fraction or an exponent, with the text it was sent as."""

    text: str

    def __new__(cls, text: str) -> ExactFloat:
        number = super().__new__(cls, text)
        number.text = text
        return number


def _integer(text: str) -> int:
    number = int(text)
    return number if I64_MIN <= number <= U64_MAX else ExactInt(number)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(text: str) -> Any:
    """orjson's result, or, when a number may not survive it (or orjson refuses one, like `1e400`), the
    standard library's with numbers kept exact. Raises orjson.JSONDecodeError for what is not JSON."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as refused:
        return _exact_loads(text, refused)
    if LONG_RUN not in text.encode("utf-8", "surrogatepass").translate(DIGITS_ONLY):
        return value
    return _exact_loads(text, None)


def _exact_loads(text: str, refused: orjson.JSONDecodeError | None) -> Any:
    try:
        value = json.loads(text, parse_int=_integer, parse_float=ExactFloat, parse_constant=_no_constant)
        if refused is not None:
            dumps(value)  # what orjson refused for another reason (a lone surrogate) could not be written
        return value
    except (ValueError, TypeError, RecursionError) as error:  # not JSON; an integer longer than Python converts
        raise refused or orjson.JSONDecodeError(str(error), text, 0) from None


def _exact(value: Any) -> Any:
    if isinstance(value, ExactFloat):
        return orjson.Fragment(value.text)
    if isinstance(value, (ExactInt, Decimal)):
        return orjson.Fragment(str(value))
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(value: Any) -> bytes:
    """orjson.dumps, writing exact numbers as their text."""
    return orjson.dumps(value, default=_exact, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
