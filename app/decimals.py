"""Exact decimals as Enrich keeps them: `new java.math.BigDecimal(text)`, a negative scale set to zero.

ConversionUtils.stringToJBigDecimal (snowplow/enrich) keeps the digits as sent, so `1.50` stays
`1.50` and `0.0000001` prints as `1E-7` (BigDecimal.toString); `1e3` has a negative scale, which
Enrich resets to zero so that it prints `1000`. The value is held as a `Decimal` whose `str()` is
exactly what BigDecimal.toString prints (both follow the same scientific-notation rule).
"""

from __future__ import annotations

import re
from decimal import Decimal

# BigDecimal(String): a sign, digits with at most one point (on either side), an optional exponent.
# Digits of any script count, as Character.isDigit allows; no spaces, underscores, NaN or Infinity.
BIG_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# A scale reset to zero writes out every zero of the exponent: Enrich would build a number of a
# billion digits for `1e999999999`; here a number past this many zeros is refused instead.
MAX_ZEROS = 1000


class NotBigDecimal(ValueError):
    """The text is not a number BigDecimal reads (or has a scale it cannot hold)."""


def big_decimal(text: str) -> Decimal:
    if not BIG_DECIMAL.match(text):
        raise NotBigDecimal("not a decimal number as java.math.BigDecimal reads it")
    number = Decimal(text)
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite: the pattern admits no NaN or Infinity
    if not INT_MIN <= -exponent <= INT_MAX:
        raise NotBigDecimal("its scale is out of the range of java.math.BigDecimal")
    if exponent > 0:  # negative scale: setScale(0)
        if exponent > MAX_ZEROS:
            raise NotBigDecimal(f"more than {MAX_ZEROS} zeros after its digits")
        digits, exponent = digits + (0,) * exponent, 0
    if not any(digits):
        sign = 0  # BigDecimal has no negative zero
    return Decimal((sign, digits, exponent))
