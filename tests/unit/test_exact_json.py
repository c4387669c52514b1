"""JSON numbers kept as sent where orjson would round them (app/exact_json.py)."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from app.exact_json import ExactFloat, ExactInt, dumps, loads


@pytest.mark.parametrize(
    "text",
    [
        '{"a":123456789012345678901234567890}',
        '{"a":-9223372036854775809}',  # one below int64: orjson would give a float
        '{"a":18446744073709551616}',  # one above uint64
        '{"a":1.00000000000000000001}',
        '{"a":[1,2.5,"12345678901234567890123"]}',  # a long digit run inside a string: unchanged
        '{"a":1e400}',  # beyond a double: kept as text
    ],
)
def test_numbers_written_back_as_sent(text):
    assert dumps(loads(text)).decode() == text


def test_exact_numbers_are_still_numbers_to_validators():
    value = loads('{"i":123456789012345678901234567890,"f":1.00000000000000000001,"n":5}')
    assert isinstance(value["i"], ExactInt) and value["i"] == 123456789012345678901234567890
    assert isinstance(value["f"], ExactFloat) and value["f"] == 1.0
    assert type(value["n"]) is int  # within 64 bits: a plain int


def test_usual_json_is_orjson_s_own_result():
    assert loads('{"a":1,"b":"x"}') == {"a": 1, "b": "x"}


@pytest.mark.parametrize("text", ["{", '{"a":NaN}', "[" + "9" * 5000 + "]", '["\\ud800"]', "[" * 5000 + "]" * 5000])
def test_not_json_or_beyond_python_is_a_decode_error(text):
    with pytest.raises(orjson.JSONDecodeError):
        loads(text)


def test_decimals_are_written_as_json_numbers():
    assert dumps({"se_value": Decimal("1E-7"), "tr_total": Decimal("1.50")}) == b'{"se_value":1E-7,"tr_total":1.50}'
