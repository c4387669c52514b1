"""Atomic fields as Snowplow Enrich writes them: URLs, decimals, `_sp`, big JSON numbers.

Each case names where its expected value comes from: a file and line of snowplow/enrich (commit
0a9de7b of ConversionUtils.scala; EnrichmentManager.scala, CrossNavigationEnrichment.scala), a test
of Enrich's own (conversionUtilsSpecs.scala), or a JDK 17 call run with `java`/`jshell`:
  URI     `new java.net.URI(s)` and its getScheme/getHost/getPort/getRawPath/getRawQuery/getRawFragment
  BD      `new java.math.BigDecimal(s)`, then `setScale(0)` when its scale is negative, `.toString()`
The URL parser itself is compared with the JDK on random URLs by scripts/compare-uri-with-jdk.
Every event goes through the real pipeline with TSV output, and the 131-field line is read back with
the Python Analytics SDK (snowplow-analytics-sdk), which must give the expected values.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from snowplow_analytics_sdk.event_transformer import transform

from app.config import Settings
from app.formats import FIELDS
from app.iglu import Registry, SchemaKey
from app.pipeline import Pipeline
from app.wiring import build_pipeline

PV = {"e": "pv", "p": "web", "tv": "js-3.0.0"}
SE = {"e": "se", "p": "web", "tv": "js-3.0.0", "se_ca": "c", "se_ac": "a"}
TR = {"e": "tr", "p": "web", "tv": "js-3.0.0", "tr_id": "o1"}
TI = {"e": "ti", "p": "web", "tv": "js-3.0.0", "ti_id": "o1", "ti_sk": "s"}
GEO = "iglu:com.snowplowanalytics.snowplow/geolocation_context/jsonschema/1-1-0"
GEO_SDK = "contexts_com_snowplowanalytics_snowplow_geolocation_context_1"
ABSENT = None
BADROWS = "iglu:com.snowplowanalytics.snowplow.badrows"
URI_SPEC = "Enrich StringToUriSpec (conversionUtilsSpecs.scala) 'special characters or macros'; then URI"
EXPLODE = "ConversionUtils.scala L72-95 explodeUri: port 443 for https, 80 for any other scheme"


def page(url: str, **parts: Any) -> dict[str, Any]:
    """Expected page_url fields; parts scheme/host/port/path/query/fragment, absent unless given."""
    expected: dict[str, Any] = {"page_url": url}
    for part in ("scheme", "host", "port", "path", "query", "fragment"):
        expected[f"page_url{part}"] = parts.get(part)
    return expected


def geo(**data: Any) -> str:
    """`co` with one geolocation_context entity (altitude and timestamp: any number)."""
    entity = {"schema": GEO, "data": {"latitude": 1, "longitude": 2, **data}}
    return json.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0", "data": [entity]})


# (case id, tracker parameters, expected fields as the TSV holds them, where the expected values come from)
GOOD = [
    # --- URLs: java.net.URI accepts the text (ConversionUtils.scala L258-264 stringToUri, spaces first) ---
    (
        "space-becomes-%20",
        {**PV, "url": "http://www.example.com/sp a ce"},
        page("http://www.example.com/sp%20a%20ce", scheme="http", host="www.example.com", port=80, path="/sp%20a%20ce"),
        "StringToUriSpec 'encode spaces as %20'; URI('http://www.example.com/sp%20a%20ce')",
    ),
    (
        "host-case-kept",
        {**PV, "url": "https://Shop.Example.com:8443/a/b?x=1#Top"},
        page(
            "https://Shop.Example.com:8443/a/b?x=1#Top",
            scheme="https",
            host="Shop.Example.com",
            port=8443,
            path="/a/b",
            query="x=1",
            fragment="Top",
        ),
        "URI getHost keeps the case",
    ),
    (
        "scheme-case-kept",
        {**PV, "url": "HTTP://example.com/"},
        page("HTTP://example.com/", scheme="HTTP", host="example.com", port=80, path="/"),
        f"URI getScheme 'HTTP'; {EXPLODE}",
    ),
    (
        "https-default-port",
        {**PV, "url": "https://example.com"},
        page("https://example.com", scheme="https", host="example.com", port=443),
        f"URI getPort -1, getRawPath ''; {EXPLODE}",
    ),
    (
        "ftp-port-80",
        {**PV, "url": "ftp://files.example.com/f"},
        page("ftp://files.example.com/f", scheme="ftp", host="files.example.com", port=80, path="/f"),
        EXPLODE,
    ),
    (
        "underscore-host-is-registry-based",
        {**PV, "url": "http://www.ex_ample.com/a"},
        page("http://www.ex_ample.com/a", scheme="http", port=80, path="/a"),
        "StringToUriSpec 'hostname having underscore'; URI getHost null",
    ),
    (
        "non-ascii-host-and-path",
        {**PV, "url": "http://münchen.de/straße"},
        page("http://münchen.de/straße", scheme="http", port=80, path="/straße"),
        "URI getHost null (registry-based), getRawPath '/straße'",
    ),
    (
        "ipv6-host-in-brackets",
        {**PV, "url": "https://[2001:db8::1]:8443/"},
        page("https://[2001:db8::1]:8443/", scheme="https", host="[2001:db8::1]", port=8443, path="/"),
        "URI getHost '[2001:db8::1]'",
    ),
    (
        "ipv4-host",
        {**PV, "url": "http://192.168.0.1:8080/x"},
        page("http://192.168.0.1:8080/x", scheme="http", host="192.168.0.1", port=8080, path="/x"),
        "URI",
    ),
    (
        "opaque-uri",
        {**PV, "url": "mailto:someone@example.com"},
        page("mailto:someone@example.com", scheme="mailto", port=80),
        f"URI getHost/getRawPath null for an opaque URI; {EXPLODE}",
    ),
    (
        "relative-uri-kept",
        {**PV, "url": "www.example.com/a%23b/?c=d%24e"},
        page("www.example.com/a%23b/?c=d%24e", port=80, path="www.example.com/a%23b/", query="c=d%24e"),
        "StringToUriSpec 'correctly percent-encoded URL'; URI getScheme null",
    ),
    (
        "escapes-kept-in-query",
        {**PV, "url": "http://psy.bz/genre/all?utm_term=buy%2Btarot&utm_campaign=spring_sale"},
        page(
            "http://psy.bz/genre/all?utm_term=buy%2Btarot&utm_campaign=spring_sale",
            scheme="http",
            host="psy.bz",
            port=80,
            path="/genre/all",
            query="utm_term=buy%2Btarot&utm_campaign=spring_sale",
        ),
        "Enrich ExplodeUriSpec 'With path & space in qs'",
    ),
    # --- URLs: java.net.URI refuses, scala-uri repairs (ConversionUtils.scala L265-275) ---
    (
        "pipe-in-path",
        {**PV, "url": "http://www.example.com/a/b/|"},
        page("http://www.example.com/a/b/%7C", scheme="http", host="www.example.com", port=80, path="/a/b/%7C"),
        URI_SPEC,
    ),
    (
        "macro-in-path",
        {**PV, "url": "http://www.example.com/a${a}"},
        page("http://www.example.com/a%24%7Ba%7D", scheme="http", host="www.example.com", port=80, path="/a%24%7Ba%7D"),
        URI_SPEC,
    ),
    (
        "pipes-in-path-and-query",
        {**PV, "url": "http://www.example.com/a|b/456?d=e||f&g=h|i&j=k"},
        page(
            "http://www.example.com/a%7Cb/456?d=e%7C%7Cf&g=h%7Ci&j=k",
            scheme="http",
            host="www.example.com",
            port=80,
            path="/a%7Cb/456",
            query="d=e%7C%7Cf&g=h%7Ci&j=k",
        ),
        URI_SPEC,
    ),
    (
        "stray-percent-and-space",
        {**PV, "url": "http://www.example.com/a%a b%"},
        page(
            "http://www.example.com/a%25a%20b%25", scheme="http", host="www.example.com", port=80, path="/a%25a%20b%25"
        ),
        URI_SPEC,
    ),
    (
        "second-hash",
        {**PV, "url": "http://www.example.com/a/b/#a#"},
        page(
            "http://www.example.com/a/b/#a%23",
            scheme="http",
            host="www.example.com",
            port=80,
            path="/a/b/",
            fragment="a%23",
        ),
        URI_SPEC,
    ),
    (
        "brackets-and-dollar",
        {**PV, "url": "http://www.example.com/a/b/$[a b]"},
        page(
            "http://www.example.com/a/b/%24%5Ba%20b%5D",
            scheme="http",
            host="www.example.com",
            port=80,
            path="/a/b/%24%5Ba%20b%5D",
        ),
        URI_SPEC,
    ),
    (
        "fragment-encodes-slash-question-equals",
        {**PV, "url": "http://www.example.com/a#{{a b}}b/c?d=e"},
        page(
            "http://www.example.com/a#%7B%7Ba%20b%7D%7Db%2Fc%3Fd%3De",
            scheme="http",
            host="www.example.com",
            port=80,
            path="/a",
            fragment="%7B%7Ba%20b%7D%7Db%2Fc%3Fd%3De",
        ),
        URI_SPEC,
    ),
    (
        "quotes-angles-caret-backtick",
        {**PV, "url": 'https://shop.example/p?q="x"&r=<y>^`'},
        page(
            "https://shop.example/p?q=%22x%22&r=%3Cy%3E%5E%60",
            scheme="https",
            host="shop.example",
            port=443,
            path="/p",
            query="q=%22x%22&r=%3Cy%3E%5E%60",
        ),
        "scala-uri 1.5.1 PercentEncoder default set less '+'; then URI",
    ),
    (
        "valid-escape-decoded-when-repaired",
        {**PV, "url": "https://shop.example/p?q=50%&ok=%41"},
        page(
            "https://shop.example/p?q=50%25&ok=A",
            scheme="https",
            host="shop.example",
            port=443,
            path="/p",
            query="q=50%25&ok=A",
        ),
        "scala-uri 1.5.1 PercentDecoder(ignoreInvalidPercentEncoding = true) then PercentEncoder; then URI",
    ),
    (
        "referrer-text-kept-parts-repaired",
        {**PV, "refr": "http://www.example.com/a/b/|"},
        {
            "page_referrer": "http://www.example.com/a/b/|",
            "refr_urlhost": "www.example.com",
            "refr_urlport": 80,
            "refr_urlpath": "/a/b/%7C",
        },
        "EnrichmentManager.scala getRefererUri sets only the refr_url* parts; " + URI_SPEC,
    ),
    # --- decimals (ConversionUtils.scala L332-349 stringToJBigDecimal) ---
    ("decimal-digits-kept", {**SE, "se_va": "100"}, {"se_value": "100"}, "BD('100') = '100'"),
    ("decimal-trailing-zero-kept", {**SE, "se_va": "1.50"}, {"se_value": "1.50"}, "BD('1.50') = '1.50'"),
    (
        "decimal-many-digits",
        {**SE, "se_va": "123456789.123456789"},
        {"se_value": "123456789.123456789"},
        "BD('123456789.123456789')",
    ),
    ("decimal-small-scientific", {**SE, "se_va": "0.0000001"}, {"se_value": "1E-7"}, "BD('0.0000001') = '1E-7'"),
    ("decimal-negative-scale", {**SE, "se_va": "1e3"}, {"se_value": "1000"}, "BD('1e3').setScale(0) = '1000'"),
    (
        "decimal-beyond-double",
        {**SE, "se_va": "9007199254740993"},
        {"se_value": "9007199254740993"},
        "BD('9007199254740993')",
    ),
    ("decimal-400-zeros", {**SE, "se_va": "1e400"}, {"se_value": "1" + "0" * 400}, "BD('1e400').setScale(0)"),
    ("decimal-negative-zero", {**SE, "se_va": "-0"}, {"se_value": "0"}, "BD('-0') = '0'"),
    ("decimal-arabic-indic-digits", {**SE, "se_va": "٤٥٦٧.٦٧"}, {"se_value": "4567.67"}, "BD('٤٥٦٧.٦٧') = '4567.67'"),
    (
        "decimal-transaction",
        {**TR, "tr_tt": ".5", "tr_tx": "1.5e3", "tr_sh": "0.0000000000"},
        {"tr_total": "0.5", "tr_tax": "1500", "tr_shipping": "0E-10"},
        "BD('.5') = '0.5', BD('1.5e3').setScale(0) = '1500', BD('0.0000000000') = '0E-10'",
    ),
    ("decimal-item-price", {**TI, "ti_pr": "19.990"}, {"ti_price": "19.990"}, "BD('19.990')"),
    # --- _sp (EnrichmentManager getCrossDomain; CrossNavigationEnrichment.makeCrossDomainMap) ---
    (
        "sp-userid-and-time",
        {**PV, "url": "https://b.example/?_sp=d1a2c3.1700000000123"},
        {"refr_domain_userid": "d1a2c3", "refr_dvce_tstamp": "2023-11-14 22:13:20.123"},
        "CrossNavigationEnrichment: parts split on '.', timestamp by EventEnrichments.extractTimestamp",
    ),
    (
        "sp-userid-only",
        {**PV, "url": "https://b.example/?a=1&_sp=abc"},
        {"refr_domain_userid": "abc", "refr_dvce_tstamp": ABSENT},
        "CrossNavigationEnrichment: an empty timestamp part is None",
    ),
    (
        "sp-time-only",
        {**PV, "url": "https://b.example/?_sp=.0"},
        {"refr_domain_userid": ABSENT, "refr_dvce_tstamp": "1970-01-01 00:00:00.000"},
        "CrossNavigationEnrichment: fixTabsNewlines('') is None",
    ),
    (
        "sp-all-seven-parts",
        {**PV, "url": "https://b.example/?_sp=abc.1700000000000.s1.dXNlcg.c3Jj.web.cmVhc29u"},
        {"refr_domain_userid": "abc", "refr_dvce_tstamp": "2023-11-14 22:13:20.000"},
        "CrossNavigationEnrichment.CrossNavProps: seven parts",
    ),
    (
        "sp-eight-parts-ignored",
        {**PV, "url": "https://b.example/?_sp=a.1.2.3.4.5.6.7"},
        {"refr_domain_userid": ABSENT, "refr_dvce_tstamp": ABSENT},
        "CrossNavigationEnrichment.makeCrossDomainMap: more than seven parts is an empty map",
    ),
    (
        "sp-after-semicolon",
        {**PV, "url": "https://b.example/?a=1;_sp=x.1000"},
        {"refr_domain_userid": "x", "refr_dvce_tstamp": "1970-01-01 00:00:01.000"},
        "ConversionUtils.extractQuerystring: URLEncodedUtils.parse splits on '&' and ';'",
    ),
    (
        "sp-from-repaired-url",
        {**PV, "url": "https://b.example/|?_sp=d1.1700000000000"},
        {"page_url": "https://b.example/%7C?_sp=d1.1700000000000", "refr_domain_userid": "d1"},
        "EnrichmentManager: the query of the parsed page URI; " + URI_SPEC,
    ),
    # --- big numbers in JSON (circe keeps a JSON number's text: io.circe.JsonNumber) ---
    (
        "bigint-in-entity",
        {**PV, "co": geo(altitude=123456789012345678901234567890)},
        {GEO_SDK: "123456789012345678901234567890"},
        "circe JsonBigDecimal keeps the digits",
    ),
    (
        "integer-beyond-64-bits",
        {**PV, "co": geo(timestamp=18446744073709551616)},
        {GEO_SDK: "18446744073709551616"},
        "circe JsonBigDecimal keeps the digits",
    ),
    (
        "negative-integer-beyond-64-bits",
        {**PV, "co": geo(altitude=-99999999999999999999)},
        {GEO_SDK: "-99999999999999999999"},
        "circe JsonBigDecimal keeps the digits",
    ),
    (
        "long-fraction-kept",
        {**PV, "co": geo(altitude="ALT")},
        {GEO_SDK: "1.00000000000000000001"},
        "circe JsonNumber keeps the text of a number",
    ),
]
# Values the JSON output writes as numbers with every digit.
JSON_NUMBERS = {
    "decimal-small-scientific": '"se_value":1E-7',
    "decimal-beyond-double": '"se_value":9007199254740993',
    "decimal-trailing-zero-kept": '"se_value":1.50',
    "bigint-in-entity": '"altitude":123456789012345678901234567890',
    "long-fraction-kept": '"altitude":1.00000000000000000001',
}

# (case id, parameters, bad row type, what its one message says, source)
BAD = [
    ("decimal-space", {**SE, "se_va": " 1.5"}, "schema_violations", "se_value", "BD(' 1.5') NumberFormatException"),
    (
        "decimal-underscore",
        {**SE, "se_va": "1_000"},
        "schema_violations",
        "se_value",
        "BD('1_000') NumberFormatException",
    ),
    ("decimal-nan", {**SE, "se_va": "NaN"}, "schema_violations", "se_value", "BD('NaN') NumberFormatException"),
    ("decimal-infinity", {**TR, "tr_tt": "Infinity"}, "schema_violations", "tr_total", "BD('Infinity') refused"),
    ("decimal-no-exponent", {**TI, "ti_pr": "1e"}, "schema_violations", "ti_price", "BD('1e') NumberFormatException"),
    (
        "decimal-exponent-overflow",
        {**SE, "se_va": "1e-2147483649"},
        "schema_violations",
        "se_value",
        "BD('1e-2147483649') NumberFormatException: Exponent overflow",
    ),
    (
        "sp-time-not-a-number",
        {**PV, "url": "https://b.example/?_sp=abc.notatime"},
        "enrichment_failures",
        "sp_dtm",
        "EventEnrichments.extractTimestamp: 'not in the expected format: ms since epoch'",
    ),
    (
        "sp-time-beyond-long",
        {**PV, "url": "https://b.example/?_sp=abc.99999999999999999999"},
        "enrichment_failures",
        "sp_dtm",
        "EventEnrichments.extractTimestamp: Long.parseLong refuses",
    ),
    (
        "url-neither-parser-reads",
        {**PV, "url": "http://example.com:80:80/|"},
        "enrichment_failures",
        "Provided URI",
        "ConversionUtils.scala L276-279: URI refuses '|', scala-uri stops at the second ':'",
    ),
]
assert len(GOOD) + len(BAD) >= 40


def _long_fraction(params: dict[str, str]) -> dict[str, str]:
    if "co" in params:
        params = {**params, "co": params["co"].replace('"ALT"', "1.00000000000000000001")}
    return params


@pytest.fixture(scope="module")
def pipelines(registry) -> dict[str, Pipeline]:
    return {fmt: build_pipeline(Settings(output_format=fmt), registry, "file") for fmt in ("tsv", "json")}


@pytest.fixture(scope="module")
def official(registry) -> Callable[[dict[str, Any]], None]:
    """Validate a bad row against its official schema (schemas/)."""
    validators: dict[str, Callable[[Any], Any]] = {}

    def validate(row: dict[str, Any]) -> None:
        if row["schema"] not in validators:
            schema = registry.schema(SchemaKey.parse(row["schema"]))
            assert schema is not None, f"schemas/ lacks {row['schema']}"
            validators[row["schema"]] = Registry.compile(schema)
        validators[row["schema"]](row["data"])

    return validate


@pytest.fixture
def collect(pipelines, make_request):
    def run(params: dict[str, str], fmt: str = "tsv"):
        return pipelines[fmt].collect(make_request("GET", query=urlencode(_long_fraction(params))))

    return run


def sdk_value(name: str, text: Any) -> Any:
    """What the Analytics SDK gives for a field whose TSV text is `text`."""
    if name in ("page_urlport", "refr_urlport"):
        return int(text)
    if name in ("tr_total", "tr_tax", "tr_shipping", "ti_price"):
        return float(text)
    if name == "refr_dvce_tstamp":
        return text.replace(" ", "T") + "Z"
    return text


SDK_NAMES = {"refr_dvce_tstamp": "refr_device_tstamp"}  # the SDK's own name for it


@pytest.mark.parametrize(("params", "expected", "source"), [c[1:] for c in GOOD], ids=[c[0] for c in GOOD])
def test_tsv_as_enrich_writes_it_and_the_sdk_reads_it(collect, params, expected, source):
    collected = collect(params)
    assert collected.bad == [], [orjson.loads(r.data)["data"]["failure"] for r in collected.bad]
    [record] = collected.good
    line = record.data.decode()
    fields = dict(zip(FIELDS, line.split("\t"), strict=True))
    read = transform(line)
    for name, value in expected.items():
        if name == GEO_SDK:  # a number in an entity: every digit in the TSV, as JSON gives it to the SDK
            assert value in fields["contexts"]
            [data] = read[name]
            assert json.loads(value) in data.values()
            continue
        if value is ABSENT:
            assert fields[name] == "", name
            assert SDK_NAMES.get(name, name) not in read, name
            continue
        assert fields[name] == str(value), name
        assert read[SDK_NAMES.get(name, name)] == sdk_value(name, str(value)), name


@pytest.mark.parametrize(("case", "needle"), JSON_NUMBERS.items())
def test_json_output_writes_every_digit(collect, case, needle):
    [params] = [c[1] for c in GOOD if c[0] == case]
    [record] = collect(params, "json").good
    assert needle in record.data.decode()
    json.loads(record.data)  # still JSON


@pytest.mark.parametrize(("params", "row_type", "says", "source"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_refused_as_enrich_refuses(collect, official, params, row_type, says, source):
    collected = collect(params)
    assert collected.good == []
    [record] = collected.bad
    row = orjson.loads(record.data)
    assert row["schema"].startswith(f"{BADROWS}/{row_type}/")
    official(row)
    [message] = row["data"]["failure"]["messages"]
    if row_type == "enrichment_failures":
        assert message["enrichment"] is None  # what Enrich does with no enrichment configured
        assert says in (message["message"].get("field") or message["message"].get("error"))
    else:
        [report] = message["error"]["dataReports"]
        assert report["path"] == says and report["keyword"] == "atomic_field_parse_error"


# --- lengths: Enrich's atomicFieldsLimits (AtomicFields.scala, AtomicFieldsLengthValidator.scala) ---


@pytest.mark.parametrize(
    ("limits", "params", "too_long"),
    [
        ({}, {**TR, "tr_cu": "€€€"}, None),  # three UTF-16 units: at the atomic schema's maxLength of 3
        ({}, {**TR, "tr_cu": "😀😀"}, "tr_currency"),  # two characters, four UTF-16 units (Java's String.length)
        ({}, {**PV, "aid": "a" * 255}, None),
        ({"app_id": 5}, {**PV, "aid": "shop1"}, None),
        ({"app_id": 5}, {**PV, "aid": "shop12"}, "app_id"),  # a setting below the schema's 255
        ({"page_url": 100}, {**PV, "url": "https://a.example/" + "p" * 90}, "page_url"),
    ],
)
def test_atomic_fields_limits(registry, make_request, limits, params, too_long):
    pipeline = build_pipeline(Settings(atomic_fields_limits=limits), registry, "file")
    collected = pipeline.collect(make_request("GET", query=urlencode(params)))
    if too_long is None:
        assert collected.bad == [] and len(collected.good) == 1
        return
    [record] = collected.bad
    [message] = orjson.loads(record.data)["data"]["failure"]["messages"]
    assert [r["path"] for r in message["error"]["dataReports"]] == [too_long]


def test_atomic_fields_limits_setting_is_merged_and_checked():
    assert Settings(atomic_fields_limits={"app_id": 5}).atomic_fields_limits == {
        "page_url": 10_000,
        "page_referrer": 10_000,
        "mkt_clickid": 1_000,
        "app_id": 5,
    }
    with pytest.raises(ValueError, match="not an atomic field"):
        Settings(atomic_fields_limits={"no_such_field": 5})
    with pytest.raises(ValueError, match="at least 1"):
        Settings(atomic_fields_limits={"app_id": 0})
