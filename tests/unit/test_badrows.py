"""Bad rows, built by the real pipeline and validated against the official Snowplow schemas."""

from __future__ import annotations

import base64
from urllib.parse import quote, urlencode

import fastjsonschema
import orjson
import pytest

from app.badrows import enrichment_error, from_enrichment, input_data
from app.config import Settings
from app.identity import Identity
from app.iglu import Registry, SchemaKey
from app.wiring import build_pipeline

BADROWS = "com.snowplowanalytics.snowplow.badrows"
TRACKER_PROTOCOL = f"iglu:{BADROWS}/tracker_protocol_violations/jsonschema/1-0-1"
SCHEMA_VIOLATIONS = f"iglu:{BADROWS}/schema_violations/jsonschema/2-0-1"
SIZE_VIOLATION = f"iglu:{BADROWS}/size_violation/jsonschema/1-0-0"
GENERIC_ERROR = f"iglu:{BADROWS}/generic_error/jsonschema/1-0-0"
ENRICHMENT_FAILURES = f"iglu:{BADROWS}/enrichment_failures/jsonschema/2-0-0"
ATOMIC = "iglu:com.snowplowanalytics.snowplow/atomic/jsonschema/1-0-0"
PAGE_VIEW = {"e": "pv", "p": "web", "tv": "js-3.0.0"}
GET_PAGE_VIEW = "e=pv&p=web&tv=js-3.0.0"
KNOWN_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
IDENTIFYING = {
    "User-Agent": "UA/1.0",
    "Referer": "https://shop.example/",
    "Cookie": f"sp={KNOWN_ID}",
    "X-Forwarded-For": "198.51.100.7",
    "X-Real-IP": "198.51.100.8",
    "Forwarded": "for=198.51.100.9",
}
IDENTIFYING_NAMES = {"cookie", "x-forwarded-for", "x-real-ip", "forwarded"}
IDENTITY = Identity(anonymous=False, ip="203.0.113.9", network_userid=KNOWN_ID, set_cookie=None)


@pytest.fixture(scope="module")
def pipeline(registry):
    return build_pipeline(Settings(max_payload_bytes=20_000, drop_payload_bytes=40_000), registry, "file")


@pytest.fixture(scope="module")
def official(registry):
    """schema URI → validator compiled from the official schema file (draft 4, uuid format)."""
    validators = {}
    for uri in (TRACKER_PROTOCOL, SCHEMA_VIOLATIONS, SIZE_VIOLATION, GENERIC_ERROR, ENRICHMENT_FAILURES):
        schema = registry.schema(SchemaKey.parse(uri))
        assert schema is not None, f"schemas/ lacks {uri}"
        validators[uri] = Registry.compile(schema)
    return validators


@pytest.fixture
def bad_rows(pipeline, official, make_request):
    """bad_rows(method, query=..., headers=..., body=...) → (good events, bad rows), each bad row schema-valid."""

    def collect(method, **request):
        collected = pipeline.collect(make_request(method, **request))
        rows = [orjson.loads(record.data) for record in collected.bad]
        for row in rows:
            try:
                official[row["schema"]](row["data"])
            except fastjsonschema.JsonSchemaException as error:
                pytest.fail(f"bad row invalid against {row['schema']}: {error}")
        return [orjson.loads(record.data) for record in collected.good], rows

    return collect


def one_bad_row(result, schema: str) -> dict:
    good, rows = result
    assert good == []
    [row] = rows
    assert row["schema"] == schema
    return row["data"]


def post(bad_rows, body, content_type="application/json", **request):
    headers = {"Content-Type": content_type, **request.pop("headers", {})}
    return bad_rows("POST", body=body, headers=headers, **request)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --- tracker_protocol_violations 1-0-1 --------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "says"),
    [
        (b'{"schema":1}', "text/html", {"field": "contentType", "value": "text/html"}),
        (b"{not json", "application/json", {"field": "body", "value": "{not json"}),
        (b"", "application/json", {"field": "body"}),
        (b'[{"e":"pv"}]', "application/json", {"error": "INVALID_DATA_PAYLOAD"}),
        (
            b'{"schema":"iglu:com.acme/x/jsonschema/1-0-0","data":[]}',
            "application/json",
            {"schemaKey": "iglu:com.acme/x/jsonschema/1-0-0"},
        ),
        (
            b'{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[]}',
            "application/json",
            {"field": "data"},
        ),
    ],
    ids=["content-type", "not-json", "empty", "not-self-describing", "wrong-schema", "no-events"],
)
def test_payload_problems_make_one_tracker_protocol_violation(bad_rows, body, content_type, says):
    data = one_bad_row(post(bad_rows, body, content_type, query="aid=shop"), TRACKER_PROTOCOL)
    [message] = data["failure"]["messages"]
    assert {key: message[key] for key in says} == says
    assert data["failure"]["vendor"] == "com.snowplowanalytics.snowplow"
    assert data["failure"]["version"] == "tp2"
    assert data["payload"]["contentType"] == content_type
    assert data["payload"]["querystring"] == [{"name": "aid", "value": "shop"}]
    assert data["payload"]["encoding"] == "UTF-8"
    assert data["payload"]["collector"].startswith("pycollector-")
    assert data["processor"]["artifact"] == "pycollector"


@pytest.mark.parametrize(
    ("bad_event", "names"),
    [
        ({**PAGE_VIEW, "e": 1}, ["e", "must be string"]),
        ({**PAGE_VIEW, "surprise": "x"}, ["surprise", "must not contain"]),
        ({**PAGE_VIEW, "k" * 300: "x"}, ["must not contain"]),
        ({"p": "web", "tv": "t"}, ["'e'", "must contain"]),
    ],
    ids=["not-a-string", "unknown-key", "long-unknown-key", "missing-e"],
)
def test_one_bad_event_is_one_bad_row_naming_its_field(bad_rows, payload, bad_event, names):
    good, rows = post(bad_rows, payload([PAGE_VIEW, bad_event]))
    assert [event["event"] for event in good] == ["page_view"]
    [row] = rows
    assert row["schema"] == TRACKER_PROTOCOL
    [message] = row["data"]["failure"]["messages"]
    for name in names:
        assert name in message["expectation"]
    assert orjson.loads(row["data"]["payload"]["body"])["data"] == [bad_event]


def test_long_values_in_a_tracker_protocol_violation(bad_rows):
    long_value = "v" * 2000
    content_type = "application/x-" + "y" * 300
    data = one_bad_row(
        post(
            bad_rows,
            b"{}",
            content_type,
            query=f"long={long_value}",
            headers={"User-Agent": "U" * 5000, "Referer": "https://r.example/" + "r" * 9000},
        ),
        TRACKER_PROTOCOL,
    )
    assert data["payload"]["querystring"][0]["value"] == long_value[:512]


# --- schema_violations 2-0-1 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field", "keyword"),
    [
        ("vid=abc", "domain_sessionidx", "atomic_field_parse_error"),
        ("tr_cu=EURO", "tr_currency", "atomic_field_length_exceeded"),
        ("aid=" + "a" * 256, "app_id", "atomic_field_length_exceeded"),
        ("res=big", "dvce_screenwidth/dvce_screenheight", "atomic_field_parse_error"),
    ],
)
def test_atomic_field_errors_make_a_schema_violation(bad_rows, query, field, keyword):
    data = one_bad_row(bad_rows("GET", query=f"{GET_PAGE_VIEW}&{query}"), SCHEMA_VIOLATIONS)
    [message] = data["failure"]["messages"]
    assert message["schemaKey"] == ATOMIC
    [report] = message["error"]["dataReports"]
    assert (report["path"], report["keyword"]) == (field, keyword)
    assert data["payload"]["raw"]["parameters"][0] == {"name": "e", "value": "pv"}
    assert data["payload"]["raw"]["version"] == "tp1"  # a GET
    assert data["payload"]["raw"]["encoding"] == "UTF-8"
    assert data["payload"]["enriched"]["event"] == "page_view"


# Every typed field the enricher can fill, so the partial event's types are checked against the schema.
EVERY_TYPE = (
    "tid=7&vid=2&ti_qu=3&pp_mix=1&pp_max=2&pp_miy=3&pp_may=4&se_va=1.5&tr_tt=9.99&tr_tx=1&tr_sh=2&ti_pr=3.5"
    "&cookie=1&f_pdf=0&res=10x20&vp=30x40&ds=50x60&dtm=1700000000000&stm=1700000000001&ttm=1700000000002"
    "&url=https%3A%2F%2Fa.com%3A8443%2Fp%3Fq%3D1%23f&refr=http%3A%2F%2Fb.com%2F&sid=" + KNOWN_ID
)


@pytest.mark.parametrize("failing", ["vid=abc", "tr_cu=EURO", "co=%7B"], ids=["parse-error", "too-long", "not-json"])
def test_partially_enriched_event_of_every_type_is_valid(bad_rows, failing):
    data = one_bad_row(bad_rows("GET", query=f"{GET_PAGE_VIEW}&{EVERY_TYPE}&{failing}"), SCHEMA_VIOLATIONS)
    enriched = data["payload"]["enriched"]
    assert enriched["dvce_screenwidth"] == 10 and enriched["br_cookies"] == 1
    assert enriched["page_urlport"] == 8443


SESSION = {
    "userId": "fbc8d9a4-1c52-4c53-9f6b-5e8f0e4c9b11",
    "sessionId": "8f3a1c2e-5b6d-4e7f-9a0b-1c2d3e4f5a6b",
    "sessionIndex": "not a number",
    "storageMechanism": "COOKIE_1",
    "previousSessionId": None,
    "firstEventTimestamp": "2025-03-01T11:59:00.000Z",
    "padding": "p" * 600,
}
CONTEXTS = {
    "schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0",
    "data": [{"schema": "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2", "data": SESSION}],
}


def test_long_invalid_cx_makes_a_valid_schema_violation(bad_rows):
    cx = b64(orjson.dumps(CONTEXTS).decode())
    assert len(cx) > 512
    data = one_bad_row(
        bad_rows("GET", query=f"{GET_PAGE_VIEW}&cx={quote(cx)}", headers={"User-Agent": "U" * 5000}), SCHEMA_VIOLATIONS
    )
    by_schema = {message["schemaKey"]: message for message in data["failure"]["messages"]}
    assert by_schema.keys() == {"iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2", ATOMIC}
    assert by_schema[ATOMIC]["error"]["dataReports"][0]["path"] == "useragent"  # 5000 > 1000 characters
    message = by_schema["iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2"]
    paths = {report["path"]: report["message"] for report in message["error"]["dataReports"]}
    assert "$.sessionIndex" in paths and "integer" in paths["$.sessionIndex"]
    assert "padding" in " ".join(paths.values())  # additionalProperties names the stray property
    [parameter] = [p for p in data["payload"]["raw"]["parameters"] if p["name"] == "cx"]
    assert parameter["value"] == cx[:512]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (f"{GET_PAGE_VIEW}&cx={quote(b64('{oops'))}", "cx"),
        (f"{GET_PAGE_VIEW}&co=%5B", "co"),
        ("e=ue&p=web&tv=t", "ue_pr"),
    ],
    ids=["cx", "co", "missing-unstruct"],
)
def test_not_json_makes_a_schema_violation_naming_the_parameter(bad_rows, query, field):
    data = one_bad_row(bad_rows("GET", query=query), SCHEMA_VIOLATIONS)
    [message] = data["failure"]["messages"]
    assert message["field"] == field


@pytest.mark.parametrize(
    ("schema", "error", "detail"), [("iglu:com.acme/nothing/jsonschema/1-0-0", "ResolutionError", "lookupHistory")]
)
def test_unusable_schema_makes_a_valid_schema_violation(bad_rows, schema, error, detail):
    co = orjson.dumps({**CONTEXTS, "data": [{"schema": schema, "data": {}}]}).decode()
    data = one_bad_row(bad_rows("GET", query=f"{GET_PAGE_VIEW}&co={quote(co)}"), SCHEMA_VIOLATIONS)
    [message] = data["failure"]["messages"]
    assert message["schemaKey"] == schema
    assert message["error"]["error"] == error
    assert message["error"][detail]


# --- enrichment_failures 2-0-0 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://b.example/?_sp=d1.yesterday", {"field": "sp_dtm", "value": "yesterday"}),
        ("http://example.com:80:80/|", {}),
    ],
    ids=["sp-timestamp", "unparsable-url"],
)
def test_enrichment_failure_makes_a_valid_enrichment_failures_row(bad_rows, url, says):
    data = one_bad_row(bad_rows("GET", query=f"{GET_PAGE_VIEW}&url={quote(url)}"), ENRICHMENT_FAILURES)
    [message] = data["failure"]["messages"]
    assert message["enrichment"] is None  # not a configured enrichment: what Enrich always does
    assert {key: message["message"][key] for key in says} == says
    assert data["payload"]["enriched"]["event"] == "page_view"
    assert {"name": "url", "value": url} in data["payload"]["raw"]["parameters"]


def test_enrichment_failures_name_the_enrichment_and_keep_within_the_caps(pipeline, official, make_request):
    config = "iglu:com.snowplowanalytics.snowplow.enrichments/cross_navigation_config/jsonschema/1-0-0"
    failures = [
        from_enrichment(input_data("f" * 100, "v", "e" * 300), (config, "cross-navigation")),
        from_enrichment(enrichment_error("x" * 600), (config, "i" * 300)),
    ]
    request = make_request("GET", query=GET_PAGE_VIEW)
    row = pipeline.badrows.enrichment_failures(request, IDENTITY, PAGE_VIEW, {"event": "page_view"}, failures, 0)
    official[ENRICHMENT_FAILURES](row["data"])
    first, second = row["data"]["failure"]["messages"]
    assert first["enrichment"] == {"schemaKey": config, "identifier": "cross-navigation"}
    assert len(first["message"]["field"]) == 64 and len(first["message"]["expectation"]) == 256
    assert len(second["message"]["error"]) == 512 and len(second["enrichment"]["identifier"]) == 256


def test_with_ip_anonymisation_enrichment_failures_mask_the_addresses_they_quote(registry, official, make_request):
    pipeline = build_pipeline(Settings(ip_anonymise_octets=1), registry, "file")
    url = "http://203.0.113.80:8080/a b|c"
    failures = [from_enrichment(input_data("page_url", url, f"a URL; {url} is not"), None)]
    request = make_request("GET", query=GET_PAGE_VIEW)
    row = pipeline.badrows.enrichment_failures(request, IDENTITY, PAGE_VIEW, {"event": "page_view"}, failures, 0)
    official[ENRICHMENT_FAILURES](row["data"])
    [message] = row["data"]["failure"]["messages"]
    assert "203.0.113.80" not in orjson.dumps(message).decode()
    assert message["message"]["value"] == "http://203.0.113.0:8080/a b|c"


# --- identity in bad rows ---------------------------------------------------------------------


def header_names(collector_payload: dict) -> set[str]:
    return {line.split(":", 1)[0].lower() for line in collector_payload["headers"]}


REQUESTS_WITH_A_COLLECTOR_PAYLOAD = [
    pytest.param(
        "POST",
        {"body": b"{", "headers": {"Content-Type": "application/json"}},
        TRACKER_PROTOCOL,
        "payload",
        id="tracker-protocol",
    ),
    pytest.param("GET", {"query": f"{GET_PAGE_VIEW}&vid=x"}, SCHEMA_VIOLATIONS, "raw", id="schema-violations"),
]


@pytest.mark.parametrize(("method", "request_", "schema", "where"), REQUESTS_WITH_A_COLLECTOR_PAYLOAD)
def test_anonymous_bad_rows_keep_nothing_identifying(bad_rows, method, request_, schema, where):
    request_ = {**request_, "headers": {**request_.get("headers", {}), **IDENTIFYING, "SP-Anonymous": "*"}}
    data = one_bad_row(bad_rows(method, peer="10.0.0.2", **request_), schema)
    collector_payload = data["payload"] if where == "payload" else data["payload"]["raw"]
    assert header_names(collector_payload) & IDENTIFYING_NAMES == set()
    assert "sp-anonymous" in header_names(collector_payload)
    assert collector_payload["ipAddress"] is None
    assert collector_payload.get("networkUserId", collector_payload.get("userId")) is None
    assert "198.51.100" not in orjson.dumps(data).decode()
    assert KNOWN_ID not in orjson.dumps(data).decode()


@pytest.mark.parametrize(("method", "request_", "schema", "where"), REQUESTS_WITH_A_COLLECTOR_PAYLOAD)
def test_bad_rows_name_the_client(bad_rows, method, request_, schema, where):
    request_ = {**request_, "headers": {**request_.get("headers", {}), **IDENTIFYING}}
    data = one_bad_row(bad_rows(method, peer="10.0.0.2", **request_), schema)
    collector_payload = data["payload"] if where == "payload" else data["payload"]["raw"]
    assert collector_payload["ipAddress"] == "198.51.100.7"  # from X-Forwarded-For via the trusted peer
    assert collector_payload.get("networkUserId", collector_payload.get("userId")) == KNOWN_ID
    assert "x-forwarded-for" in header_names(collector_payload)
    assert "cookie" not in header_names(collector_payload)
    assert (collector_payload["useragent"], collector_payload["refererUri"]) == (
        "UA/1.0",
        "https://shop.example/",
    )  # the cookie never: its id is there already


def collect_with(registry, official, make_request, settings: Settings, method: str, request_: dict) -> list[dict]:
    """Bad rows from a pipeline with these settings, each checked against its official schema."""
    collected = build_pipeline(settings, registry, "file").collect(make_request(method, **request_))
    rows = [orjson.loads(record.data) for record in collected.bad]
    for row in rows:
        official[row["schema"]](row["data"])
    return rows


@pytest.mark.parametrize(("method", "request_", "schema", "where"), REQUESTS_WITH_A_COLLECTOR_PAYLOAD)
def test_anonymous_bad_rows_drop_the_configured_client_ip_header(
    registry, official, make_request, method, request_, schema, where
):
    headers = {**request_.get("headers", {}), "CF-Connecting-IP": "198.51.100.30", "SP-Anonymous": "*"}
    settings = Settings(client_ip_header="CF-Connecting-IP")
    [row] = collect_with(registry, official, make_request, settings, method, {**request_, "headers": headers})
    collector_payload = row["data"]["payload"] if where == "payload" else row["data"]["payload"]["raw"]
    assert "cf-connecting-ip" not in header_names(collector_payload)
    assert "198.51.100.30" not in orjson.dumps(row).decode()


@pytest.mark.parametrize(("method", "request_", "schema", "where"), REQUESTS_WITH_A_COLLECTOR_PAYLOAD)
def test_with_ip_anonymisation_bad_rows_mask_the_ip_parameter_and_drop_forwarding_headers(
    registry, official, make_request, method, request_, schema, where
):
    request_ = {
        **request_,
        "query": request_.get("query", "e=pv") + "&ip=198.51.100.77,%20203.0.113.5|junk",
        "headers": {**request_.get("headers", {}), **IDENTIFYING, "CF-Connecting-IP": "198.51.100.31"},
    }
    settings = Settings(ip_anonymise_octets=1, client_ip_header="CF-Connecting-IP")
    [row] = collect_with(registry, official, make_request, settings, method, {**request_, "peer": "10.0.0.2"})
    collector_payload = row["data"]["payload"] if where == "payload" else row["data"]["payload"]["raw"]
    parameters = collector_payload.get("querystring", collector_payload.get("parameters"))
    assert {"name": "ip", "value": "198.51.100.0, 203.0.113.0|junk"} in parameters
    assert collector_payload["ipAddress"] == "198.51.100.0"
    assert header_names(collector_payload) & {*IDENTIFYING_NAMES, "cf-connecting-ip"} == set()
    for unmasked in ("198.51.100.7", "198.51.100.31"):  # 198.51.100.7 is in .77 too
        assert unmasked not in orjson.dumps(row).decode()


# --- size_violation 1-0-0 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "request_", "actual", "kept"),
    [
        (
            "POST",
            {"body": b"x" * 25_000, "headers": {"Content-Type": "application/json"}, "query": "aid=shop"},
            25_008,  # the query string counts too
            "POST /com.snowplowanalytics.snowplow/tp2?aid=shop\n" + "x" * 1950,
        ),
        ("GET", {"query": "e=pv&aid=" + "a" * 30_000}, 30_009, "GET /i?e=pv&aid=" + "a" * 1991 + "\n"),
        (
            "POST",
            {"body": b"x" * 20_000, "headers": {"Content-Type": "application/json"}, "query": "aid=" + "a" * 2100},
            22_104,
            "POST /com.snowplowanalytics.snowplow/tp2?aid=" + "a" * 1996 + "\n",  # no room left for the body
        ),
        (
            "POST",
            {"body": b"\xff" * 25_000, "headers": {"Content-Type": "application/json"}},
            25_000,
            "POST /com.snowplowanalytics.snowplow/tp2?\n" + "\ufffd" * 1958,
        ),
    ],
    ids=["post-body", "get-query", "post-long-query", "post-not-utf8"],
)
def test_oversized_payload_makes_a_size_violation(bad_rows, method, request_, actual, kept):
    data = one_bad_row(bad_rows(method, **request_), SIZE_VIOLATION)
    assert data["failure"]["maximumAllowedSizeBytes"] == 20_000
    assert data["failure"]["actualSizeBytes"] == actual
    assert "20000" in data["failure"]["expectation"]
    assert data["payload"] == kept  # a tenth of the limit (2000 characters of query, or in all), not the payload


@pytest.mark.parametrize("output_format", ["json", "tsv"])
def test_records_larger_than_the_sinks_message_limit_become_size_violations_that_fit(
    registry, official, make_request, payload, output_format
):
    limit = 4000  # the sink's message limit, as a broker sink reports it
    pipeline = build_pipeline(Settings(output_format=output_format), registry, "nats", lambda: limit, lambda: limit)
    small, big = (
        {**PAGE_VIEW, "eid": KNOWN_ID},
        {**PAGE_VIEW, "page": "t" * 1900, "url": "https://a.example/" + "p" * 2900},
    )
    not_an_event = {**PAGE_VIEW, "tv": 1, "page": "x" * 5000}  # a tracker_protocol_violations row of 5 KB
    request = make_request(
        "POST", body=payload([small, big, not_an_event]), headers={"Content-Type": "application/json"}
    )
    collected = pipeline.collect(request)
    assert len(collected.good) == 1 and KNOWN_ID.encode() in collected.good[0].data
    rows = [orjson.loads(record.data) for record in collected.bad]
    assert [row["schema"] for row in rows] == [SIZE_VIOLATION, SIZE_VIOLATION]
    for record, row in zip(collected.bad, rows, strict=True):
        official[SIZE_VIOLATION](row["data"])
        assert len(record.data) <= limit
        assert row["data"]["failure"]["maximumAllowedSizeBytes"] == limit
        assert row["data"]["failure"]["actualSizeBytes"] > limit
        assert len(row["data"]["payload"]) <= limit // 10
    assert "tracker_protocol_violations" in rows[0]["data"]["payload"]  # the cut row still says what it was
    assert collected.outcomes == {"good": 1, "size_violation": 1, "tracker_protocol_violations": 1}


def test_payload_at_the_limit_is_not_a_size_violation(bad_rows, payload):
    events = [{**PAGE_VIEW, "page": "x" * 900} for _ in range(21)]
    events[-1]["page"] += "x" * (20_000 - len(payload(events)))
    assert len(payload(events)) == 20_000 and len(events[-1]["page"]) <= 2000
    good, rows = post(bad_rows, payload(events))
    assert rows == [] and len(good) == 21


@pytest.mark.parametrize(("method", "request_", "schema", "where"), REQUESTS_WITH_A_COLLECTOR_PAYLOAD)
def test_anonymous_bad_rows_drop_the_headers_in_which_proxies_name_the_client(
    bad_rows, method, request_, schema, where
):
    client_headers = {name: "198.51.100.40" for name in ("True-Client-IP", "X-Client-IP", "Fastly-Client-IP")}
    headers = {**request_.get("headers", {}), **client_headers, "SP-Anonymous": "*"}
    data = one_bad_row(bad_rows(method, **{**request_, "headers": headers}), schema)
    assert "198.51.100.40" not in orjson.dumps(data).decode()


def test_with_ip_anonymisation_a_generic_error_masks_the_addresses_it_keeps(
    registry, official, make_request, monkeypatch
):
    pipeline = build_pipeline(Settings(ip_anonymise_octets=1), registry, "file")

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug near 198.51.100.41")

    monkeypatch.setattr(registry, "check_self_describing", broken)
    query = "e=pv&p=web&ip=198.51.100.41&co=" + quote(orjson.dumps({"schema": CONTEXTS["schema"], "data": []}).decode())
    request = make_request("GET", query=query, headers={"User-Agent": "x"})
    [record] = pipeline.collect(request).bad
    row = orjson.loads(record.data)
    official[GENERIC_ERROR](row["data"])
    assert row["data"]["payload"] == "GET /i?" + query.replace("198.51.100.41", "198.51.100.0") + "\n"
    assert row["data"]["failure"]["errors"] == ["RuntimeError: a bug near 198.51.100.0"]


def a_bug(*_args, **_kwargs):
    raise RuntimeError("a bug")


# A bug is planted in the registry (plain Python, never compiled): a compiled stage's own methods
# cannot be replaced, and the safety net must hold in both builds.
WITH_ENTITIES = {**PAGE_VIEW, "co": orjson.dumps({"schema": CONTEXTS["schema"], "data": []}).decode()}


def test_a_pipeline_bug_keeps_the_request_whole_as_a_generic_error(bad_rows, registry, payload, monkeypatch):
    monkeypatch.setattr(registry, "check_self_describing", a_bug)
    body = payload([WITH_ENTITIES])
    row = one_bad_row(post(bad_rows, body, query="aid=shop"), GENERIC_ERROR)
    assert row["failure"]["errors"] == ["RuntimeError: a bug"]
    assert row["payload"] == "POST /com.snowplowanalytics.snowplow/tp2?aid=shop\n" + body.decode()


def test_a_pipeline_bug_keeps_a_body_that_is_not_utf8_with_replacement_characters(bad_rows, registry, monkeypatch):
    monkeypatch.setattr(registry, "check_self_describing", a_bug)
    query = urlencode(WITH_ENTITIES)
    row = one_bad_row(bad_rows("GET", query=query, body=b"\xff{}"), GENERIC_ERROR)
    assert row["payload"] == f"GET /i?{query}\n\ufffd{{}}"


def test_a_long_collector_name_is_cut_to_the_schema_cap(registry, official, make_request):
    settings = Settings(name="c" * 24)
    [row] = collect_with(registry, official, make_request, settings, "POST", {"body": b"{", "headers": {}})
    collector = row["data"]["payload"]["collector"]  # name-version-sink, longer than the schema's 32
    assert collector.startswith("c" * 24 + "-") and len(collector) == 32
