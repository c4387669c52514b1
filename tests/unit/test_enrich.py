"""Enrichment: tracker parameters → canonical fields, with every failure reported as Snowplow would."""

from __future__ import annotations

import base64
import uuid
from decimal import Decimal

import orjson
import pytest

from app.clock import iso_from_ms as iso
from app.enrich import Enricher, exceeds_depth
from app.identity import Identity
from app.iglu import Registry
from app.privacy import IpMask

BASE = {"e": "pv", "p": "web", "tv": "js-3.0.0"}
COLLECTOR_ID = "c0ffee00-1234-4abc-8def-000000000001"
SEEN = Identity(anonymous=False, ip="203.0.113.9", network_userid=COLLECTOR_ID, set_cookie=None)
ANONYMOUS = Identity(anonymous=True, ip=None, network_userid=None, set_cookie=None)
COLLECTOR_MS = 1_700_000_000_000  # 2023-11-14T22:13:20.000Z
ETL_MS = COLLECTOR_MS + 5
ATOMIC = "iglu:com.snowplowanalytics.snowplow/atomic/jsonschema/1-0-0"
CONTEXTS = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"
CLIENT_SESSION = "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/{}"
SESSION_ID = "8f3a1c2e-5b6d-4e7f-9a0b-1c2d3e4f5a6b"
SESSION = {
    "userId": "fbc8d9a4-1c52-4c53-9f6b-5e8f0e4c9b11",
    "sessionId": SESSION_ID,
    "sessionIndex": 3,
    "previousSessionId": None,
    "storageMechanism": "COOKIE_1",
    "firstEventId": "e2b4a1c3-0d9f-4e8a-b7c6-5d4e3f2a1b0c",
    "firstEventTimestamp": "2025-03-01T11:59:00.000Z",
    "eventIndex": 7,
}


@pytest.fixture(scope="module")
def enricher(registry):
    return Enricher(registry, "pycollector-0.1.0-file", "pycollector-0.1.0", IpMask(0, 0))


@pytest.fixture
def enrich(enricher, make_request):
    """enrich(extra params, headers=None, identity=SEEN, base=BASE) → Enriched"""

    def run(params=None, headers=None, identity=SEEN, base=BASE):
        request = make_request("GET", headers=headers)
        request.received_ms = COLLECTOR_MS
        return enricher.enrich({**base, **(params or {})}, identity, request, ETL_MS)

    return run


def good(enriched) -> dict:
    assert enriched.failures == []
    return enriched.event


def only_failure(enriched) -> dict:
    [failure] = enriched.failures
    return failure


def atomic_reports(enriched) -> list[dict]:
    failure = only_failure(enriched)
    assert failure["schemaKey"] == ATOMIC
    assert failure["error"]["error"] == "ValidationError"
    return failure["error"]["dataReports"]


def context(*entities) -> str:
    return orjson.dumps(
        {"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0", "data": list(entities)}
    ).decode()


def entity(version: str = "1-0-2", **changes) -> dict:
    """A client_session entity; a property changed to ... is left out."""
    data = {**SESSION, **changes}
    if version != "1-0-2":  # the older versions know fewer properties
        data = {k: v for k, v in data.items() if k not in ("eventIndex", "firstEventTimestamp")}
    if version == "1-0-0":
        data.pop("firstEventId")
    return {"schema": CLIENT_SESSION.format(version), "data": {k: v for k, v in data.items() if v is not ...}}


def b64(text: str, urlsafe: bool = False, padded: bool = True) -> str:
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(text.encode()).decode()
    return encoded if padded else encoded.rstrip("=")


# --- scalar conversions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"sid": SESSION_ID.upper()}, {"domain_sessionid": SESSION_ID}),
        ({"vid": "3"}, {"domain_sessionidx": 3}),
        ({"vid": "-2147483648"}, {"domain_sessionidx": -(2**31)}),
        ({"ti_qu": "2147483647"}, {"ti_quantity": 2**31 - 1}),
        ({"tid": "+42"}, {"txn_id": 42}),
        (
            {"pp_mix": "0", "pp_max": "10", "pp_miy": "-5", "pp_may": "900"},
            {"pp_xoffset_min": 0, "pp_xoffset_max": 10, "pp_yoffset_min": -5, "pp_yoffset_max": 900},
        ),
        ({"se_va": "1.5"}, {"se_value": Decimal("1.5")}),
        ({"se_va": "-0.25"}, {"se_value": Decimal("-0.25")}),
        ({"ev_va": "10"}, {"se_value": Decimal("10")}),
        (
            {"tr_tt": "19.99", "tr_tx": "0", "tr_sh": "1e2"},
            {"tr_total": Decimal("19.99"), "tr_tax": Decimal("0"), "tr_shipping": Decimal("100")},
        ),
        ({"ti_pr": "5.50"}, {"ti_price": Decimal("5.50")}),
        ({"cookie": "1"}, {"br_cookies": True}),
        ({"cookie": "0"}, {"br_cookies": False}),
        (
            {
                "f_pdf": "1",
                "f_fla": "0",
                "f_java": "1",
                "f_dir": "0",
                "f_qt": "1",
                "f_realp": "0",
                "f_wma": "1",
                "f_gears": "0",
                "f_ag": "1",
            },
            {
                "br_features_pdf": True,
                "br_features_flash": False,
                "br_features_java": True,
                "br_features_director": False,
                "br_features_quicktime": True,
                "br_features_realplayer": False,
                "br_features_windowsmedia": True,
                "br_features_gears": False,
                "br_features_silverlight": True,
            },
        ),
        ({"dtm": "1700000000123"}, {"dvce_created_tstamp": "2023-11-14T22:13:20.123Z"}),
        ({"stm": "0"}, {"dvce_sent_tstamp": "1970-01-01T00:00:00.000Z"}),
        ({"ttm": "-1"}, {"true_tstamp": "1969-12-31T23:59:59.999Z"}),
        ({"dtm": "253402300799999"}, {"dvce_created_tstamp": "9999-12-31T23:59:59.999Z"}),
        ({"ttm": "-62135596800000"}, {"true_tstamp": "0001-01-01T00:00:00.000Z"}),
        ({"res": "1920x1080"}, {"dvce_screenwidth": 1920, "dvce_screenheight": 1080}),
        ({"vp": "1280x0"}, {"br_viewwidth": 1280, "br_viewheight": 0}),
        ({"res": "2147483647x2147483647"}, {"dvce_screenwidth": 2**31 - 1, "dvce_screenheight": 2**31 - 1}),
        ({"ds": "0800x2000"}, {"doc_width": 800, "doc_height": 2000}),
        ({"p": "mob"}, {"platform": "mob"}),
        ({"p": "headset"}, {"platform": "headset"}),
        ({"p": "iot"}, {"platform": "iot"}),
        (
            {"aid": "shop", "tna": "sp1", "uid": "user@x", "duid": "d-1", "lang": "en-GB", "cs": "UTF-8", "cd": "24"},
            {
                "app_id": "shop",
                "name_tracker": "sp1",
                "user_id": "user@x",
                "domain_userid": "d-1",
                "br_lang": "en-GB",
                "doc_charset": "UTF-8",
                "br_colordepth": "24",
            },
        ),
        (
            {"se_ca": "c", "se_ac": "a", "se_la": "l", "se_pr": "p"},
            {"se_category": "c", "se_action": "a", "se_label": "l", "se_property": "p"},
        ),
        (
            {"ev_ca": "c", "ev_ac": "a", "ev_la": "l", "ev_pr": "p"},
            {"se_category": "c", "se_action": "a", "se_label": "l", "se_property": "p"},
        ),
        (
            {"tr_id": "o1", "tr_af": "a", "tr_ci": "Paris", "tr_st": "IDF", "tr_co": "FR", "tr_cu": "EUR"},
            {
                "tr_orderid": "o1",
                "tr_affiliation": "a",
                "tr_city": "Paris",
                "tr_state": "IDF",
                "tr_country": "FR",
                "tr_currency": "EUR",
            },
        ),
        (
            {"ti_id": "o1", "ti_sk": "sku", "ti_nm": "Hat", "ti_ca": "hats", "ti_cu": "EUR"},
            {"ti_orderid": "o1", "ti_sku": "sku", "ti_name": "Hat", "ti_category": "hats", "ti_currency": "EUR"},
        ),
        ({"ti_na": "Legacy hat"}, {"ti_name": "Legacy hat"}),
        (
            {"tz": "Europe/Paris", "page": "Tab\there", "fp": "123"},
            {"os_timezone": "Europe/Paris", "page_title": "Tab    here", "user_fingerprint": "123"},
        ),
        ({"page": "line\r\nbreak\x00"}, {"page_title": "linebreak"}),
        ({"page": "two words\x01"}, {"page_title": "two words"}),
        ({"aid": "\x01\x02", "page": "\x7f"}, {"app_id": "missing", "page_title": "missing"}),
        ({"se_va": "1.5", "ev_va": "null"}, {"se_value": "missing"}),
        ({"cv": "custom-collector"}, {"v_collector": "custom-collector"}),
    ],
    ids=lambda names: "+".join(names)[:40],
)
def test_parameter_conversion(enrich, params, expected):
    event = good(enrich(params))
    assert {name: event.get(name, "missing") for name in expected} == expected


@pytest.mark.parametrize("value", ["null", "NULL", "Null"])
@pytest.mark.parametrize(
    ("param", "field"),
    [("vid", "domain_sessionidx"), ("ti_qu", "ti_quantity"), ("se_va", "se_value"), ("tr_tt", "tr_total")],
)
def test_null_number_is_absent(enrich, param, field, value):
    assert field not in good(enrich({param: value}))


@pytest.mark.parametrize("code", ["web", "mob", "pc", "srv", "app", "tv", "cnsl", "iot", "headset"])
def test_every_platform_code(enrich, code):
    assert good(enrich({"p": code}))["platform"] == code


@pytest.mark.parametrize(
    ("code", "event_name"),
    [
        ("pv", "page_view"),
        ("pp", "page_ping"),
        ("se", "struct"),
        ("ev", "struct"),
        ("tr", "transaction"),
        ("ti", "transaction_item"),
    ],
)
def test_event_codes(enrich, code, event_name):
    assert good(enrich({"e": code}))["event"] == event_name


@pytest.mark.parametrize(
    ("param", "value", "field"),
    [
        ("sid", "not-a-uuid", "domain_sessionid"),
        ("sid", SESSION_ID + "0", "domain_sessionid"),
        ("sid", SESSION_ID + "\n", "domain_sessionid"),
        ("vid", "abc", "domain_sessionidx"),
        ("vid", "1.0", "domain_sessionidx"),
        ("vid", "2147483648", "domain_sessionidx"),
        ("vid", "-2147483649", "domain_sessionidx"),
        ("vid", "5\n", "domain_sessionidx"),
        ("vid", " 5", "domain_sessionidx"),
        ("vid", "1234567890123456789", "domain_sessionidx"),
        ("ti_qu", "1.5", "ti_quantity"),
        ("tid", "1e3", "txn_id"),
        ("pp_mix", "ten", "pp_xoffset_min"),
        ("se_va", "abc", "se_value"),
        ("se_va", "NaN", "se_value"),
        ("tr_tt", "Infinity", "tr_total"),
        ("se_va", "1e1001", "se_value"),  # 1e400 is Enrich's 1 and 400 zeros; past 1000 zeros: refused here
        ("ti_pr", "-1e-2147483649", "ti_price"),  # java.math.BigDecimal: exponent overflow
        ("ti_pr", "1,5", "ti_price"),
        ("cookie", "true", "br_cookies"),
        ("cookie", "2", "br_cookies"),
        ("f_pdf", "yes", "br_features_pdf"),
        ("dtm", "abc", "dvce_created_tstamp"),
        ("dtm", "1.7e12", "dvce_created_tstamp"),
        ("dtm", "1700000000000\n", "dvce_created_tstamp"),
        ("stm", "253402300800000", "dvce_sent_tstamp"),
        ("ttm", "-62135596800001", "true_tstamp"),
        ("res", "1920", "dvce_screenwidth/dvce_screenheight"),
        ("res", "1920x", "dvce_screenwidth/dvce_screenheight"),
        ("vp", "1920X1080", "br_viewwidth/br_viewheight"),
        ("ds", "-1x5", "doc_width/doc_height"),
        ("ds", "99999999999x1", "doc_width/doc_height"),
        ("res", "2147483648x1", "dvce_screenwidth/dvce_screenheight"),
        ("res", "1x2147483648", "dvce_screenwidth/dvce_screenheight"),
        ("res", "1x2\n", "dvce_screenwidth/dvce_screenheight"),
        ("p", "web2", "platform"),
        ("p", "WEB", "platform"),
        ("e", "xx", "event"),
        ("e", "PV", "event"),
    ],
)
def test_invalid_value_is_an_atomic_parse_error(enrich, param, value, field):
    [report] = atomic_reports(enrich({param: value}))
    assert report["path"] == field
    assert report["keyword"] == "atomic_field_parse_error"
    assert f"parameter {param} " in report["message"]


@pytest.mark.parametrize(
    ("param", "value", "says"),
    [
        ("vid", "x", "not a 32-bit integer"),
        ("se_va", "x", "not a decimal number as java.math.BigDecimal reads it"),
        ("se_va", "Infinity", "not a decimal number as java.math.BigDecimal reads it"),  # BigDecimal has no infinity
        ("cookie", "x", "not 0 or 1"),
        ("sid", "x", "not a UUID"),
        ("dtm", "x", "not epoch milliseconds between years 1 and 9999"),
        ("p", "x", "not a platform code (app, cnsl, headset, iot, mob, pc, srv, tv, web)"),
        ("e", "x", "not an event type (pv, pp, se, ev, ue, tr, ti)"),
        ("res", "x", "not WIDTHxHEIGHT in whole pixels"),
    ],
)
def test_a_parse_error_says_what_was_expected(enrich, param, value, says):
    [report] = atomic_reports(enrich({param: value}))
    assert report["message"].endswith(f": {says}")


@pytest.mark.parametrize(
    ("param", "fields"),
    [
        ("vid", ["domain_sessionidx"]),
        ("sid", ["domain_sessionid"]),
        ("dtm", ["dvce_created_tstamp"]),
        ("cookie", ["br_cookies"]),
        ("se_va", ["se_value"]),
        ("res", ["dvce_screenwidth", "dvce_screenheight"]),
        ("aid", ["app_id"]),
        ("url", ["page_url", "page_urlhost"]),
        ("eid", []),
    ],
)
def test_empty_value_counts_as_absent(enrich, param, fields):
    event = good(enrich({param: ""}))
    for name in fields:
        assert name not in event


@pytest.mark.parametrize("params", [{"e": ""}, {}], ids=["empty", "missing"])
def test_event_without_event_type_fails(enrich, params):
    base = {k: v for k, v in BASE.items() if k != "e"}
    [report] = atomic_reports(enrich(params, base=base))
    assert report["path"] == "event"
    assert report["message"] == "cannot convert parameter e to event: missing: every event needs an event type"


# --- atomic lengths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "value", "field", "limit"),
    [
        ("tr_cu", "EURO", "tr_currency", 3),
        ("ti_cu", "DOLLAR", "ti_currency", 3),
        ("aid", "a" * 256, "app_id", 255),
        ("tv", "v" * 101, "v_tracker", 100),
        ("cd", "1" * 13, "br_colordepth", 12),
        ("url", "https://a.com/" + "p" * 9987, "page_url", 10_000),  # Enrich 4 atomicFieldsLimits
        ("refr", "https://a.com/" + "p" * 9987, "page_referrer", 10_000),
        ("ua", "u" * 1001, "useragent", 1000),
        ("tnuid", "n" * 129, "network_userid", 128),
    ],
)
def test_too_long_value_is_atomic_field_length_exceeded(enrich, param, value, field, limit):
    reports = atomic_reports(enrich({param: value}))
    [report] = [r for r in reports if r["path"] == field]
    assert report["keyword"] == "atomic_field_length_exceeded"
    assert str(limit) in report["message"]


@pytest.mark.parametrize(
    ("param", "value"),
    [("tr_cu", "EUR"), ("aid", "a" * 255), ("url", "https://a.com/" + "p" * 2986 + "?" + "q" * 5999 + "#" + "f" * 999)],
)
def test_value_at_the_limit_is_kept(enrich, param, value):
    assert value in good(enrich({param: value})).values()


# --- identity overrides -----------------------------------------------------------------------

TRACKER_NUID = "aaaaaaaa-0000-4000-8000-000000000001"
TRACKER_TNUID = "bbbbbbbb-0000-4000-8000-000000000002"


@pytest.mark.parametrize(
    ("params", "identity", "expected"),
    [
        ({}, SEEN, COLLECTOR_ID),
        ({"nuid": TRACKER_NUID}, SEEN, TRACKER_NUID),
        ({"tnuid": TRACKER_TNUID}, SEEN, TRACKER_TNUID),
        ({"tnuid": TRACKER_TNUID, "nuid": TRACKER_NUID}, SEEN, TRACKER_TNUID),
        ({"nuid": TRACKER_NUID, "tnuid": TRACKER_TNUID}, SEEN, TRACKER_TNUID),
        ({"tnuid": "", "nuid": TRACKER_NUID}, SEEN, TRACKER_NUID),
        ({}, ANONYMOUS, None),
        ({"nuid": TRACKER_NUID}, ANONYMOUS, TRACKER_NUID),
        ({"tnuid": TRACKER_TNUID}, ANONYMOUS, TRACKER_TNUID),
    ],
)
def test_network_userid_precedence(enrich, params, identity, expected):
    assert good(enrich(params, identity=identity)).get("network_userid") == expected


@pytest.mark.parametrize(
    ("params", "identity", "expected"),
    [
        ({}, SEEN, "203.0.113.9"),
        ({"ip": "198.51.100.1"}, SEEN, "198.51.100.1"),
        ({"ip": "198.51.100.1, 10.0.0.1"}, SEEN, "198.51.100.1"),
        ({"ip": "198.51.100.1|10.0.0.1"}, SEEN, "198.51.100.1"),
        ({"ip": "198.51.100.1 10.0.0.1"}, SEEN, "198.51.100.1"),
        ({"ip": ""}, SEEN, "203.0.113.9"),
        ({"ip": ","}, SEEN, "203.0.113.9"),
        ({"ip": "\x01"}, SEEN, "203.0.113.9"),
        ({"ip": "2001:DB8:0:0::1"}, SEEN, "2001:db8::1"),
        ({"ip": " [2001:db8::7]:443, 10.0.0.1"}, SEEN, "2001:db8::7"),
        ({"ip": "::ffff:198.51.100.1"}, SEEN, "198.51.100.1"),
        ({"ip": "unknown\tproxy"}, SEEN, "unknown    proxy"),
        ({"ip": "not\x00an-address"}, SEEN, "notan-address"),
        ({}, ANONYMOUS, None),
        ({"ip": "198.51.100.1"}, ANONYMOUS, "198.51.100.1"),
    ],
)
def test_user_ipaddress_precedence(enrich, params, identity, expected):
    assert good(enrich(params, identity=identity)).get("user_ipaddress") == expected


@pytest.mark.parametrize(
    ("params", "headers", "expected"),
    [
        ({}, {"User-Agent": "UA-header", "Referer": "https://ref.example/a"}, ("UA-header", "https://ref.example/a")),
        (
            {"ua": "UA-param", "url": "https://page.example/"},
            {"User-Agent": "UA-header", "Referer": "https://ref.example/a"},
            ("UA-param", "https://page.example/"),
        ),
        ({"ua": "UA-param"}, {}, ("UA-param", None)),
        ({}, {}, (None, None)),
        ({}, {"User-Agent": "UA\x01\tx", "Referer": "https://ref.example/\x7fa"}, ("UA    x", "https://ref.example/a")),
    ],
    ids=["headers", "params-win", "param-only", "neither", "headers-cleaned"],
)
def test_useragent_and_page_url_from_params_or_headers(enrich, params, headers, expected):
    event = good(enrich(params, headers=headers))
    assert (event.get("useragent"), event.get("page_url")) == expected


# As Enrich's ConversionUtils.explodeUri gives them: java.net.URI's getHost keeps the case (and the
# brackets of an IPv6 address); the port is 443 for https and 80 for any other scheme when none is given.
@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("https://Shop.Example.com/a/b?x=1&y=2#frag", ("https", "Shop.Example.com", 443, "/a/b", "x=1&y=2", "frag")),
        ("http://example.com", ("http", "example.com", 80, None, None, None)),
        ("http://example.com:8080/p", ("http", "example.com", 8080, "/p", None, None)),
        ("https://[2001:db8::1]:8443/", ("https", "[2001:db8::1]", 8443, "/", None, None)),
        ("ftp://files.example.com/f", ("ftp", "files.example.com", 80, "/f", None, None)),
        ("http://example.com:99999/p", ("http", "example.com", 99999, "/p", None, None)),  # java.net.URI: any port
        ("http://[::1/p", (None, None, None, None, None, None)),  # unparsable: no parts (an enrichment failure)
    ],
)
@pytest.mark.parametrize(("param", "prefix"), [("url", "page_url"), ("refr", "refr_url")])
def test_url_parts(enrich, param, prefix, url, parts):
    event = good(enrich({param: url}))
    names = [f"{prefix}{part}" for part in ("scheme", "host", "port", "path", "query", "fragment")]
    assert tuple(event.get(name) for name in names) == parts


# --- set by the service -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "derived_ms"),
    [
        ({}, COLLECTOR_MS),
        ({"ttm": "1600000000000"}, 1_600_000_000_000),
        ({"ttm": "1600000000000", "dtm": "1000", "stm": "6000"}, 1_600_000_000_000),
        ({"dtm": "1000", "stm": "6000"}, COLLECTOR_MS - 5000),
        ({"dtm": "6000", "stm": "6000"}, COLLECTOR_MS),
        ({"dtm": "9000", "stm": "6000"}, COLLECTOR_MS),
        ({"dtm": "1000"}, COLLECTOR_MS),
        ({"stm": "6000"}, COLLECTOR_MS),
    ],
    ids=[
        "collector",
        "true-time",
        "true-time-wins",
        "skew-corrected",
        "equal",
        "created-after-sent",
        "only-dtm",
        "only-stm",
    ],
)
def test_derived_tstamp(enrich, params, derived_ms):
    event = good(enrich(params))
    assert event["derived_tstamp"] == iso(derived_ms)
    assert event["collector_tstamp"] == iso(COLLECTOR_MS)
    assert event["etl_tstamp"] == iso(ETL_MS)


@pytest.mark.parametrize(
    ("eid", "expected"),
    [(SESSION_ID, SESSION_ID), (SESSION_ID.upper(), SESSION_ID), ("not-a-uuid", None), (SESSION_ID + "\n", None)],
)
def test_event_id_from_eid_if_valid_else_new(enrich, eid, expected):
    event_id = good(enrich({"eid": eid}))["event_id"]
    if expected is None:
        assert event_id != eid.lower() and uuid.UUID(event_id).version == 4
    else:
        assert event_id == expected


LINK_CLICK = {
    "schema": "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1",
    "data": {"targetUrl": "https://a.com/"},
}
UNSTRUCT = orjson.dumps(
    {"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0", "data": LINK_CLICK}
).decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"e": "pv"}, ("page_view", "com.snowplowanalytics.snowplow", "page_view", "jsonschema", "1-0-0")),
        ({"e": "pp"}, ("page_ping", "com.snowplowanalytics.snowplow", "page_ping", "jsonschema", "1-0-0")),
        ({"e": "tr"}, ("transaction", "com.snowplowanalytics.snowplow", "transaction", "jsonschema", "1-0-0")),
        (
            {"e": "ti"},
            ("transaction_item", "com.snowplowanalytics.snowplow", "transaction_item", "jsonschema", "1-0-0"),
        ),
        ({"e": "se"}, ("struct", "com.google.analytics", "event", "jsonschema", "1-0-0")),
        ({"e": "ev"}, ("struct", "com.google.analytics", "event", "jsonschema", "1-0-0")),
        (
            {"e": "ue", "ue_pr": UNSTRUCT},
            ("unstruct", "com.snowplowanalytics.snowplow", "link_click", "jsonschema", "1-0-1"),
        ),
        (
            {"e": "ue", "ue_px": b64(UNSTRUCT, urlsafe=True, padded=False)},
            ("unstruct", "com.snowplowanalytics.snowplow", "link_click", "jsonschema", "1-0-1"),
        ),
    ],
    ids=["pv", "pp", "tr", "ti", "se", "legacy-ev", "ue-plain", "ue-base64"],
)
def test_event_schema_fields(enrich, params, expected):
    event = good(enrich(params))
    assert (
        tuple(event.get(name) for name in ("event", "event_vendor", "event_name", "event_format", "event_version"))
        == expected
    )


def test_unstruct_event_is_kept_as_self_describing_json(enrich):
    assert good(enrich({"e": "ue", "ue_pr": UNSTRUCT}))["unstruct_event"] == orjson.loads(UNSTRUCT)


@pytest.mark.parametrize("params", [{"e": "ue"}, {"e": "ue", "ue_pr": "", "ue_px": ""}], ids=["absent", "empty"])
def test_unstruct_without_its_event_fails(enrich, params):
    enriched = enrich(params)
    assert "event_format" not in enriched.event  # no schema fields for an event that is not there
    failure = only_failure(enriched)
    assert failure["field"] == "ue_pr"
    assert "e=ue" in failure["error"] and "ue_px" in failure["error"]


def test_unstruct_event_invalid_against_its_schema_fails(enrich):
    bad = orjson.dumps({**orjson.loads(UNSTRUCT), "data": {**LINK_CLICK, "data": {"targetUrl": ""}}}).decode()
    failure = only_failure(enrich({"e": "ue", "ue_pr": bad}))
    assert failure["schemaKey"] == LINK_CLICK["schema"]
    [report] = failure["error"]["dataReports"]
    assert report["path"] == "$.targetUrl"


# --- contexts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"co": context(entity())},
        {"cx": b64(context(entity()))},
        {"cx": b64(context(entity()), urlsafe=True, padded=False)},
        {"cx": b64(context(entity())), "co": context(entity(sessionIndex=99))},
        {"cx": "", "co": context(entity())},
    ],
    ids=["co-plain", "cx-base64", "cx-url-safe-unpadded", "cx-wins-over-co", "empty-cx-is-absent"],
)
def test_contexts(enrich, params):
    assert good(enrich(params))["contexts"] == {"schema": CONTEXTS, "data": [entity()]}


@pytest.mark.parametrize("version", ["1-0-0", "1-0-1", "1-0-2"])
def test_every_client_session_version_is_known(enrich, version):
    assert good(enrich({"co": context(entity(version))}))["contexts"]["data"] == [entity(version)]


@pytest.mark.parametrize(
    ("changes", "path", "keyword"),
    [
        ({"sessionIndex": "3"}, "$.sessionIndex", "type"),
        ({"sessionIndex": -1}, "$.sessionIndex", "minimum"),
        ({"sessionId": "not-a-uuid"}, "$.sessionId", "format"),
        ({"firstEventId": "123"}, "$.firstEventId", "format"),
        ({"firstEventTimestamp": "2025-03-01 11:59:00"}, "$.firstEventTimestamp", "format"),
        ({"storageMechanism": "DISK"}, "$.storageMechanism", "enum"),
        ({"userId": "Not A User"}, "$.userId", "pattern"),
        ({"userId": ...}, "$", "required"),
        ({"color": "blue"}, "$", "additionalProperties"),
    ],
)
def test_invalid_client_session_is_a_validation_error_naming_the_property(enrich, changes, path, keyword):
    failure = only_failure(enrich({"co": context(entity(**changes))}))
    assert failure["schemaKey"] == CLIENT_SESSION.format("1-0-2")
    assert failure["error"]["error"] == "ValidationError"
    [report] = failure["error"]["dataReports"]
    assert (report["path"], report["keyword"]) == (path, keyword)
    name = path.removeprefix("$.") if path != "$" else next(iter(changes))
    assert name in report["message"]


def test_each_invalid_entity_is_reported(enrich):
    failures = enrich(
        {"co": context(entity(sessionIndex="1"), {"schema": "iglu:com.acme/nope/jsonschema/1-0-0", "data": {}})}
    ).failures
    assert [f["error"]["error"] for f in failures] == ["ValidationError", "ResolutionError"]


def test_unknown_schema_is_a_resolution_error(enrich):
    unknown = "iglu:com.acme/unknown_thing/jsonschema/1-0-0"
    failure = only_failure(enrich({"co": context({"schema": unknown, "data": {}})}))
    assert failure["schemaKey"] == unknown
    assert failure["error"]["error"] == "ResolutionError"
    [lookup] = failure["error"]["lookupHistory"]
    assert lookup["errors"] == [{"error": "NotFound"}]


@pytest.mark.parametrize(
    ("params", "field", "value"),
    [
        ({"cx": b64("{not json")}, "cx", "{not json"),
        ({"co": "[1, 2"}, "co", "[1, 2"),
        ({"cx": base64.b64encode(b"\xff{").decode()}, "cx", "\ufffd{"),
        ({"e": "ue", "ue_px": b64("nope")}, "ue_px", "nope"),
        ({"e": "ue", "ue_pr": "{"}, "ue_pr", "{"),
    ],
)
def test_not_json_is_a_not_json_message(enrich, params, field, value):
    failure = only_failure(enrich(params))
    assert failure["field"] == field
    assert failure["value"] == value
    assert "JSON" in failure["error"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            orjson.dumps(LINK_CLICK).decode(),
            {
                "schemaKey": LINK_CLICK["schema"],
                "schemaCriterion": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-*-*",
            },
        ),
        ('[{"a": 1}]', {"error": "INVALID_DATA_PAYLOAD"}),
        (
            context({"schema": "not-iglu", "data": {}}),
            {"schemaKey": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0"},
        ),
    ],
    ids=["wrong-wrapper", "not-self-describing", "entity-not-iglu-fails-the-wrapper"],
)
def test_contexts_that_are_not_contexts(enrich, value, expected):
    failure = only_failure(enrich({"co": value}))
    assert {key: failure[key] for key in expected} == expected


def test_an_unstruct_event_outside_its_wrapper_fails_naming_the_wrapper(enrich):
    failure = only_failure(enrich({"e": "ue", "ue_pr": orjson.dumps(LINK_CLICK).decode()}))
    assert failure["schemaKey"] == LINK_CLICK["schema"]
    assert failure["schemaCriterion"] == "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-*-*"


@pytest.mark.parametrize(
    ("text", "deeper_than_2"),
    [
        ('{"a": {}}', False),
        ('{"a": {"b": {}}}', True),
        ("[[[]]]", True),
        ('[1, {"a": [2]}]', True),
        ("[{}, {}, {}]", False),
        ('{"a": "{{{{"}', False),
        ('{"a": [], "b": {"c": []}}', True),
    ],
)
def test_exceeds_depth(text, deeper_than_2):
    assert exceeds_depth(text, orjson.loads(text), 2) is deeper_than_2


def test_contexts_nested_too_deep_fail_naming_the_parameter(registry, make_request):
    enricher = Enricher(registry, "pycollector", "file", IpMask(0, 0), max_json_depth=3)
    co = context(entity())  # contexts → data array → entity → its data: 4 levels
    enriched = enricher.enrich({**BASE, "co": co}, SEEN, make_request("GET"), ETL_MS)
    assert only_failure(enriched) == {"field": "co", "value": co, "error": "JSON nested deeper than 3 levels"}


def test_more_entities_than_the_limit_fail_as_a_whole(registry, make_request):
    enricher = Enricher(registry, "pycollector", "file", IpMask(0, 0), max_entities=1)
    enriched = enricher.enrich({**BASE, "co": context(entity(), entity())}, SEEN, make_request("GET"), ETL_MS)
    assert only_failure(enriched) == {
        "field": "contexts",
        "value": None,
        "error": "2 entities, more than the limit of 1",
    }
    assert "contexts" not in enriched.event


def test_a_schemas_folder_without_atomic_fails_at_start(tmp_path):
    with pytest.raises(RuntimeError, match="atomic"):
        Enricher(Registry(tmp_path), "pycollector", "file", IpMask(0, 0))


def test_json_nested_too_deep_keeps_the_first_1000_characters(registry, make_request):
    enricher = Enricher(registry, "pycollector", "file", IpMask(0, 0), max_json_depth=3)
    co = '{"a":' * 5 + '"' + "x" * 1200 + '"' + "}" * 5
    enriched = enricher.enrich({**BASE, "co": co}, SEEN, make_request("GET"), ETL_MS)
    assert only_failure(enriched)["value"] == co[:1000]


def test_an_unstruct_wrapper_holding_no_self_describing_event_fails_once(enrich):
    inner = {"schema": "not-an-iglu-uri", "data": {}}
    wrapper = {"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0", "data": inner}
    enriched = enrich({"e": "ue", "ue_pr": orjson.dumps(wrapper).decode()})
    [report] = only_failure(enriched)["error"]["dataReports"]  # the wrapper's own schema asks for an Iglu URI
    assert (report["path"], report["keyword"]) == ("$.schema", "pattern")
    assert "unstruct_event" not in enriched.event


def test_as_many_entities_as_the_limit_are_taken(registry, make_request):
    enricher = Enricher(registry, "pycollector", "file", IpMask(0, 0), max_entities=2)
    enriched = enricher.enrich({**BASE, "co": context(entity(), entity())}, SEEN, make_request("GET"), ETL_MS)
    assert good(enriched)["contexts"]["data"] == [entity(), entity()]
