"""`_sp` parsing, part by part (CrossNavigationEnrichment.CrossDomainMap.makeCrossDomainMap of snowplow/enrich)."""

from __future__ import annotations

import pytest

from app.cross_domain import NOTHING, CrossDomain, parse_sp, sp_parameter
from app.failures import Failure


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", NOTHING),
        ("abc", CrossDomain(domain_userid="abc")),
        ("abc.1700000000000", CrossDomain(domain_userid="abc", timestamp_ms=1_700_000_000_000)),
        ("a\tb.+5", CrossDomain(domain_userid="a    b", timestamp_ms=5)),  # fixTabsNewlines; Long.parseLong takes '+'
        (
            "abc.1700000000000.s1.dXNlcg.c3Jj.web.cmVhc29u",  # user, src, reason: URL-safe base64
            CrossDomain("abc", 1_700_000_000_000, "s1", "user", "src", "web", "reason"),
        ),
        ("abc.1.. .. . ", CrossDomain(domain_userid="abc", timestamp_ms=1)),  # blank parts are None
        ("a.1.2.3.4.5.6.7", NOTHING),  # more than seven parts: no map at all
    ],
)
def test_parts(value, expected):
    assert parse_sp(value) == expected


@pytest.mark.parametrize("timestamp", ["x", "1e3", "-", "9223372036854775808", "253402300800000"])
def test_a_timestamp_enrich_refuses_is_an_sp_dtm_failure(timestamp):
    failure = parse_sp(f"abc.{timestamp}")
    assert isinstance(failure, Failure)
    assert failure.message["field"] == "sp_dtm" and failure.message["value"] == timestamp


def test_timestamp_is_iso():
    assert CrossDomain(timestamp_ms=1_700_000_000_123).timestamp == "2023-11-14T22:13:20.123Z"


@pytest.mark.parametrize(
    ("query", "expected"),
    [("_sp=a.1", "a.1"), ("x=1&_sp=a&_sp=b", "b"), ("x=1;_sp=a%2Eb+c", "a.b c"), ("sp=a", None), ("_sp", "")],
)
def test_sp_parameter(query, expected):
    assert sp_parameter(query) == expected
