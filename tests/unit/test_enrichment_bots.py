"""IAB spiders and robots (with list files written here in the IAB's documented formats: the real lists are
licensed), ASN lookups (likelyBot on the asn context), and bot detection combining them."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.enrichments.base import EventContext
from app.iglu import SchemaKey
from tests.unit.enrichment_support import build, run

IAB_SCHEMA = "iglu:com.iab.snowplow/spiders_and_robots/jsonschema/1-0-0"
FIREFOX = "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:40.0) Gecko/20100101 Firefox/40.1"
IP_LIST = "# IAB/ABC IP exclude list (test copy)\n192.0.2.0/24\n2001:db8:dead::/48\n198.51.100.7\n"
INCLUDE_LIST = "# valid browsers: pattern|active\nmozilla|1\nopera|1\nlynx|0\n"
EXCLUDE_LIST = (
    "# pattern|active|exceptions|two-pass|impact|start-of-string\n"
    "bot|1|cubot, robotic lawn|0|2|0\n"
    "crawler|1||0|0|0\n"
    "mozilla/5.0 (compatible; adfetch|1||0|1|1\n"
    "firefox/40|0||0|0|0\n"
)


@pytest.fixture(scope="module")
def iab(tmp_path_factory):
    folder: Path = tmp_path_factory.mktemp("iab")
    (folder / "ip_exclude_current_cidr.txt").write_text(IP_LIST)
    (folder / "include_current.txt").write_text(INCLUDE_LIST)
    (folder / "exclude_current.txt").write_text(EXCLUDE_LIST)
    uri = folder.as_uri()
    parameters = {
        "ipFile": {"database": "ip_exclude_current_cidr.txt", "uri": uri},
        "excludeUseragentFile": {"database": "exclude_current.txt", "uri": uri},
        "includeUseragentFile": {"database": "include_current.txt", "uri": uri},
        "includeUseragents": ["acme-app/"],
        "excludeUseragents": ["HeadlessChrome"],
    }
    return build("iab_spiders_and_robots_enrichment", "1-0-1", parameters)


IAB_CASES = [
    ("a browser", FIREFOX, "216.160.83.56", (False, "BROWSER", "PASSED_ALL", "NONE")),
    ("an excluded network", FIREFOX, "192.0.2.15", (True, "SPIDER_OR_ROBOT", "FAILED_IP_EXCLUDE", "UNKNOWN")),
    (
        "an excluded IPv6 network",
        FIREFOX,
        "2001:db8:dead::1",
        (True, "SPIDER_OR_ROBOT", "FAILED_IP_EXCLUDE", "UNKNOWN"),
    ),
    (
        "not a known browser",
        "Xenu Link Sleuth/1.3.8",
        "216.160.83.56",
        (True, "SPIDER_OR_ROBOT", "FAILED_UA_INCLUDE", "UNKNOWN"),
    ),
    (
        "an inactive include entry",
        "Lynx/2.8.8",
        "216.160.83.56",
        (True, "SPIDER_OR_ROBOT", "FAILED_UA_INCLUDE", "UNKNOWN"),
    ),
    ("an extra include pattern", "acme-app/3.1", "216.160.83.56", (False, "BROWSER", "PASSED_ALL", "NONE")),
    (
        "an excluded robot, page and ad impact",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "216.160.83.56",
        (True, "ACTIVE_SPIDER_OR_ROBOT", "FAILED_UA_EXCLUDE", "PAGE_AND_AD_IMPRESSIONS"),
    ),
    (
        "an exception to the robot pattern",
        "Mozilla/5.0 (Linux; Android 9; CUBOT X19)",
        "216.160.83.56",
        (False, "BROWSER", "PASSED_ALL", "NONE"),
    ),
    (
        "a start-of-string pattern at the start",
        "Mozilla/5.0 (compatible; AdFetch)",
        "216.160.83.56",
        (True, "ACTIVE_SPIDER_OR_ROBOT", "FAILED_UA_EXCLUDE", "AD_IMPRESSIONS"),
    ),
    (
        "a start-of-string pattern elsewhere",
        "Opera Mozilla/5.0 (compatible; AdFetch)",
        "216.160.83.56",
        (False, "BROWSER", "PASSED_ALL", "NONE"),
    ),
    ("an inactive exclude entry", FIREFOX, "216.160.83.56", (False, "BROWSER", "PASSED_ALL", "NONE")),
    (
        "an extra exclude pattern",
        "Mozilla/5.0 HeadlessChrome/120",
        "216.160.83.56",
        (True, "ACTIVE_SPIDER_OR_ROBOT", "FAILED_UA_EXCLUDE", "UNKNOWN"),
    ),
]


@pytest.mark.parametrize(("user_agent", "ip", "expected"), [c[1:] for c in IAB_CASES], ids=[c[0] for c in IAB_CASES])
def test_iab_context(iab, registry, make_request, user_agent, ip, expected):
    [entity] = run(iab, {"useragent": user_agent}, make_request(), client_ip=ip).entities
    data = entity["data"]
    assert entity["schema"] == IAB_SCHEMA
    assert (data["spiderOrRobot"], data["category"], data["reason"], data["primaryImpact"]) == expected
    assert registry.validate(SchemaKey.parse(IAB_SCHEMA), data) is None


def test_iab_never_checks_the_address_under_sp_anonymous(iab, make_request):
    [entity] = run(iab, {"useragent": FIREFOX}, make_request(), client_ip="192.0.2.15", anonymous=True).entities
    assert entity["data"]["reason"] == "PASSED_ALL"


ASN = "iglu:com.snowplowanalytics.snowplow/asn/jsonschema/1-0-0"


@pytest.mark.parametrize(
    ("number", "platform", "expected"),
    [(14061, "web", True), (16509, "web", True), (64500, "web", False), (14061, "srv", None)],
    ids=["in the file", "in botAsns", "not listed", "bypassed platform"],
)
def test_asn_lookups_mark_likely_bots(tmp_path, registry, make_request, number, platform, expected):
    (tmp_path / "bad-asn-list.csv").write_text('ASN,Entity\n"14061","DigitalOcean, LLC"\nAS24940,Hetzner\n')
    parameters = {
        "botAsnsFile": {"database": "bad-asn-list.csv", "uri": tmp_path.as_uri()},
        "botAsns": [{"asn": 16509, "name": "Amazon"}],
        "bypassPlatforms": ["srv"],
    }
    enrichment = build("asn_lookups", "1-0-0", parameters)
    entity = {"schema": ASN, "data": {"number": number, "organization": "X"}}
    enrichment.apply({"platform": platform}, EventContext({}, make_request(), False, None, derived=[entity]))
    if expected is None:
        assert entity["schema"] == ASN and "likelyBot" not in entity["data"]
    else:
        assert entity["schema"].endswith("/1-0-1") and entity["data"]["likelyBot"] is expected
        assert registry.validate(SchemaKey.parse(entity["schema"]), entity["data"]) is None


BOT_CASES = [
    ("nothing flags it", {}, [], False, []),
    ("IAB", {"useIab": True}, [("iab", True)], True, ["iab"]),
    ("IAB not used", {"useIab": False}, [("iab", True)], False, []),
    ("ASN", {"useAsnLookups": True}, [("asn", True)], True, ["asnLookups"]),
    ("client side", {"useClientSideDetection": True}, [("client", True)], True, ["clientSideDetection"]),
    ("negative signals", {"useIab": True, "useAsnLookups": True}, [("iab", False), ("asn", False)], False, []),
    (
        "several",
        {"useIab": True, "useAsnLookups": True, "useClientSideDetection": True},
        [("iab", True), ("asn", True), ("client", True)],
        True,
        ["iab", "asnLookups", "clientSideDetection"],
    ),
]
SIGNALS = {
    "iab": ("derived", "iglu:com.iab.snowplow/spiders_and_robots/jsonschema/1-0-0", "spiderOrRobot"),
    "asn": ("derived", "iglu:com.snowplowanalytics.snowplow/asn/jsonschema/1-0-1", "likelyBot"),
    "client": ("contexts", "iglu:com.snowplowanalytics.snowplow/client_side_bot_detection/jsonschema/1-0-0", "bot"),
}


@pytest.mark.parametrize(
    ("use", "signals", "bot", "indicators"), [c[1:] for c in BOT_CASES], ids=[c[0] for c in BOT_CASES]
)
def test_bot_detection_any_positive_is_a_bot(registry, make_request, use, signals, bot, indicators):
    parameters = {"useYauaa": True, "useIab": False, "useAsnLookups": False, "useClientSideDetection": False, **use}
    enrichment = build("bot_detection_enrichment_config", "1-0-1", parameters)
    derived, contexts = [], []
    for name, flag in signals:
        where, schema, field = SIGNALS[name]
        (derived if where == "derived" else contexts).append({"schema": schema, "data": {field: flag}})
    event = {"contexts": {"schema": "c", "data": contexts}}
    [entity] = enrichment.apply(event, EventContext({}, make_request(), False, None, derived=derived)).entities
    assert entity["data"] == {"bot": bot, "indicators": indicators}
    assert registry.validate(SchemaKey.parse(entity["schema"]), entity["data"]) is None
