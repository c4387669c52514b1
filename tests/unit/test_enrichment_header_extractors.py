"""cookie_extractor_config / http_header_extractor_config: org.ietf contexts from the request, each valid,
and nothing that identifies the person under SP-Anonymous."""

from __future__ import annotations

import pytest

from app.enrichments.base import Setup
from app.enrichments.files import DataFileCache
from app.iglu import SchemaKey
from tests.unit.enrichment_support import build, run

COOKIE = "iglu:org.ietf/http_cookie/jsonschema/1-0-0"
HEADER = "iglu:org.ietf/http_header/jsonschema/1-0-0"
HEADERS = {
    "User-Agent": "Mozilla/5.0",
    "Cookie": 'sp=0b2e8f5c-4a1e-4e7e-9b1e-2f3a4b5c6d7e; _ga=GA1.2.3; consent="yes"',
    "X-Forwarded-For": "198.51.100.23",
    "X-Real-IP": "198.51.100.23",
    "Forwarded": "for=198.51.100.23",
    "Accept-Language": "en-GB",
    "X-Tenant": "acme",
}


def contexts(outcome) -> list[tuple[str, str]]:
    return [(entity["data"]["name"], entity["data"]["value"]) for entity in outcome.entities]


@pytest.mark.parametrize(
    ("anonymous", "expected"),
    [
        (False, [("sp", "0b2e8f5c-4a1e-4e7e-9b1e-2f3a4b5c6d7e"), ("_ga", "GA1.2.3"), ("consent", "yes")]),
        (True, [("_ga", "GA1.2.3"), ("consent", "yes")]),  # never the collector's own cookie
    ],
)
def test_configured_cookies_become_http_cookie_contexts(registry, make_request, anonymous, expected):
    enrichment = build("cookie_extractor_config", "1-0-0", {"cookies": ["sp", "_ga", "consent", "absent"]})
    outcome = run(enrichment, {}, make_request(headers=HEADERS), anonymous=anonymous)
    assert contexts(outcome) == expected
    for entity in outcome.entities:
        assert entity["schema"] == COOKIE
        assert registry.validate(SchemaKey.parse(COOKIE), entity["data"]) is None


def test_the_collector_cookie_name_is_the_configured_one(tmp_path, make_request):
    setup = Setup(DataFileCache(tmp_path, 5.0, refresh=True), cookie_name="_ga")
    enrichment = build("cookie_extractor_config", "1-0-0", {"cookies": ["sp", "_ga"]}, setup=setup)
    assert [name for name, _ in contexts(run(enrichment, {}, make_request(headers=HEADERS), anonymous=True))] == ["sp"]


HEADER_CASES = [
    ("one header, any case", "x-tenant", False, [("x-tenant", "acme")]),
    (
        "a pattern",
        "X-.*",
        False,
        [("x-forwarded-for", "198.51.100.23"), ("x-real-ip", "198.51.100.23"), ("x-tenant", "acme")],
    ),
    ("identifying headers dropped under SP-Anonymous", "X-.*|Forwarded|Cookie", True, [("x-tenant", "acme")]),
    ("no match", "X-Absent", False, []),
]


@pytest.mark.parametrize(
    ("pattern", "anonymous", "expected"), [c[1:] for c in HEADER_CASES], ids=[c[0] for c in HEADER_CASES]
)
def test_matching_headers_become_http_header_contexts(registry, make_request, pattern, anonymous, expected):
    enrichment = build("http_header_extractor_config", "1-0-0", {"headersPattern": pattern})
    outcome = run(enrichment, {}, make_request(headers=HEADERS), anonymous=anonymous)
    assert contexts(outcome) == expected
    for entity in outcome.entities:
        assert entity["schema"] == HEADER
        assert registry.validate(SchemaKey.parse(HEADER), entity["data"]) is None


def test_everything_under_sp_anonymous_leaves_no_cookie_or_address(make_request):
    enrichment = build("http_header_extractor_config", "1-0-0", {"headersPattern": ".*"})
    names = [name for name, _ in contexts(run(enrichment, {}, make_request(headers=HEADERS), anonymous=True))]
    assert names == ["user-agent", "accept-language", "x-tenant"]
