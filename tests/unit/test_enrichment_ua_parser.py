"""ua_parser_config → ua_parser_context 1-0-0, with uap-core's rules (ua-parser-builtins), each context valid."""

from __future__ import annotations

import pytest

from app.iglu import SchemaKey
from tests.unit.enrichment_support import build, run

SCHEMA = "iglu:com.snowplowanalytics.snowplow/ua_parser_context/jsonschema/1-0-0"
CASES = [
    (
        "Chrome on Mac OS X (Enrich's documented example)",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_3) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/33.0.1750.152 Safari/537.36",
        {
            "useragentFamily": "Chrome",
            "useragentMajor": "33",
            "useragentMinor": "0",
            "useragentPatch": "1750",
            "useragentVersion": "Chrome 33.0.1750",
            "osFamily": "Mac OS X",
            "osMajor": "10",
            "osMinor": "9",
            "osPatch": "3",
            "osPatchMinor": None,
            "osVersion": "Mac OS X 10.9.3",
            "deviceFamily": "Mac",
        },
    ),
    (
        "Safari on iPhone",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/16.5 Mobile/15E148 Safari/604.1",
        {
            "useragentFamily": "Mobile Safari",
            "useragentMajor": "16",
            "useragentMinor": "5",
            "useragentPatch": None,
            "useragentVersion": "Mobile Safari 16.5",
            "osFamily": "iOS",
            "osMajor": "16",
            "osMinor": "5",
            "osPatch": None,
            "osPatchMinor": None,
            "osVersion": "iOS 16.5",
            "deviceFamily": "iPhone",
        },
    ),
    (
        "a crawler",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        {"useragentFamily": "Googlebot", "useragentVersion": "Googlebot 2.1", "deviceFamily": "Spider"},
    ),
    (
        "nothing recognisable",
        "zzz unknown agent 9",
        {
            "useragentFamily": "Other",
            "useragentMajor": None,
            "useragentVersion": "Other",
            "osFamily": "Other",
            "osVersion": "Other",
            "deviceFamily": "Other",
        },
    ),
]


@pytest.fixture(scope="module")
def parser():
    return build("ua_parser_config", "1-0-0", {})


@pytest.mark.parametrize(("user_agent", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_ua_parser_context(parser, registry, make_request, user_agent, expected):
    outcome = run(parser, {"useragent": user_agent}, make_request())
    [context] = outcome.entities
    assert context["schema"] == SCHEMA
    assert {name: context["data"][name] for name in expected} == expected
    assert registry.validate(SchemaKey.parse(SCHEMA), context["data"]) is None


def test_no_user_agent_no_context(parser, make_request):
    assert run(parser, {}, make_request()).entities == ()
