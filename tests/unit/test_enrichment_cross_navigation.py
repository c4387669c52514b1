"""cross_navigation_config: the `cross_navigation` context from `_sp` (Enrich's documented examples), each
valid; one its schema refuses fails the event (a malformed timestamp is the atomic mapping's failure)."""

from __future__ import annotations

import pytest

from app.enrichments.base import Setup
from app.enrichments.files import DataFileCache
from app.iglu import SchemaKey
from tests.unit.enrichment_support import build, run

SCHEMA = "iglu:com.snowplowanalytics.snowplow/cross_navigation/jsonschema/1-0-0"
SESSION = "176ff68a-4769-4566-ad0e-3792c1c8148f"
CASES = [
    ("two parts", "abc.1697175843762", {"domain_user_id": "abc", "timestamp": "2023-10-13T05:44:03.762Z"}),
    (
        "all seven parts",
        f"abc.1697175843762.{SESSION}.dGVzdGVy.c29tZVNvdXJjZUlk.web.dGVzdGluZ19yZWFzb24",
        {
            "domain_user_id": "abc",
            "timestamp": "2023-10-13T05:44:03.762Z",
            "session_id": SESSION,
            "user_id": "tester",
            "source_id": "someSourceId",
            "source_platform": "web",
            "reason": "testing_reason",
        },
    ),
    (
        "empty parts left out",
        f"abc.1697175843762.{SESSION}...mob.",
        {
            "domain_user_id": "abc",
            "timestamp": "2023-10-13T05:44:03.762Z",
            "session_id": SESSION,
            "source_platform": "mob",
        },
    ),
]


@pytest.fixture(scope="module")
def enrichment(registry, tmp_path_factory):
    return build(
        "cross_navigation_config",
        "1-0-0",
        {},
        setup=Setup(DataFileCache(tmp_path_factory.mktemp("c"), 1.0, refresh=False), registry=registry),
    )


@pytest.mark.parametrize(("sp", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cross_navigation_context(enrichment, registry, make_request, sp, expected):
    outcome = run(enrichment, {"page_urlquery": f"a=1&_sp={sp}"}, make_request())
    assert outcome.failure is None
    assert outcome.entities == ({"schema": SCHEMA, "data": expected},)
    assert registry.validate(SchemaKey.parse(SCHEMA), expected) is None


@pytest.mark.parametrize(
    "url", ["https://shop.example/", "https://shop.example/?_sp=", "https://shop.example/?_sp=a.1.2.3.4.5.6.7"]
)
def test_no_link_no_context(enrichment, make_request, url):
    assert run(enrichment, {"page_url": url}, make_request()) == run(enrichment, {}, make_request())
    assert run(enrichment, {"page_url": url}, make_request()).entities == ()


@pytest.mark.parametrize(
    ("sp", "field", "expectation"),
    [
        ("abc", "_sp", "a cross_navigation context"),  # no timestamp: the schema requires one
        ("abc.1697175843762.not-a-uuid", "_sp", "a cross_navigation context"),
        ("abc.1697175843762....watch.", "_sp", "a cross_navigation context"),  # unknown platform
    ],
)
def test_a_malformed_sp_fails_the_event(enrichment, make_request, sp, field, expectation):
    failure = run(enrichment, {"page_urlquery": f"_sp={sp}"}, make_request()).failure
    assert failure is not None
    assert failure.message["field"] == field and failure.message["expectation"].startswith(expectation)
