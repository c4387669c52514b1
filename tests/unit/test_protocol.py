"""Tracker protocol: query strings and payload_data bodies → raw events or violations."""

from __future__ import annotations

import base64

import orjson
import pytest

from app.iglu import Registry
from app.protocol import Protocol, decode_base64, parse_query

PAGE_VIEW = {"e": "pv", "p": "web", "tv": "js-3.0.0"}
STRUCT = {"e": "se", "p": "web", "tv": "js-3.0.0", "se_ca": "shop", "se_ac": "add"}


@pytest.fixture(scope="module")
def protocol(registry):
    return Protocol(registry, max_events=1000)


@pytest.fixture
def post(protocol, make_request, payload):
    """post(body or events, content_type=..., query=...) → Parsed"""

    def send(body, content_type="application/json", query=""):
        if not isinstance(body, bytes):
            body = payload(body)
        headers = {"Content-Type": content_type} if content_type is not None else {}
        return protocol.parse(make_request("POST", query=query, headers=headers, body=body))

    return send


def only_message(parsed) -> dict:
    assert parsed.events == []
    [violation] = parsed.violations
    [message] = violation.messages
    return message


# --- GET -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("e=pv&page=Hello+World", {"e": "pv", "page": "Hello World"}),
        ("page=caf%C3%A9%20%2B%26", {"page": "café +&"}),
        ("url=https%3A%2F%2Fa.com%2Fp%3Fx%3D1%23f", {"url": "https://a.com/p?x=1#f"}),
        ("e=pv&aid=", {"e": "pv", "aid": ""}),
        ("co=%7B%22a%22%3A1%7D", {"co": '{"a":1}'}),
    ],
    ids=["plus-is-space", "percent-utf8", "encoded-url", "blank-kept", "encoded-json"],
)
def test_get_query_string_is_form_decoded(protocol, make_request, query, expected):
    parsed = protocol.parse(make_request("GET", query=query))
    assert parsed.events == [expected]
    assert parsed.violations == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("x=a=b&y==", {"x": "a=b", "y": "="}),
        ("%65=pv&s%65_ca=shop", {"e": "pv", "se_ca": "shop"}),
        ("my+name=1", {"my name": "1"}),
        ("flag&e=pv", {"flag": "", "e": "pv"}),
        ("aid=a&aid=b", {"aid": "b"}),
        ("&&e=pv&", {"e": "pv"}),
        ("v=a%2Bb+c", {"v": "a+b c"}),
    ],
    ids=["equals-in-value", "encoded-names", "plus-in-name", "name-without-value", "last-wins", "empty-pairs", "mixed"],
)
def test_parse_query(query, expected):
    assert parse_query(query) == expected


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_empty_query_string_is_no_event(protocol, make_request, method):
    parsed = protocol.parse(make_request(method, query=""))
    assert parsed.events == []
    assert parsed.violations == []


# --- base64 ----------------------------------------------------------------------------------

RAW = b'{"k":"\xfb\xff\xbf>?"}'  # bytes whose encoding uses + and / (standard) or - and _ (URL-safe)
STANDARD = base64.b64encode(RAW).decode()
URL_SAFE = base64.urlsafe_b64encode(RAW).decode()


@pytest.mark.parametrize(
    "encoded",
    [
        STANDARD,
        STANDARD.rstrip("="),
        URL_SAFE,
        URL_SAFE.rstrip("="),
        "\n".join(STANDARD[i : i + 4] for i in range(0, len(STANDARD), 4)),  # line-wrapped
        " " + URL_SAFE.rstrip("=") + "!*",  # stray characters around it
    ],
    ids=["standard", "standard-unpadded", "url-safe", "url-safe-unpadded", "line-breaks", "stray-chars"],
)
def test_base64_either_alphabet_padding_optional(encoded):
    assert "+" in STANDARD and "-" in URL_SAFE  # the fixture really exercises both alphabets
    assert decode_base64(encoded) == RAW


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        ("", b""),
        ("YWJj" + "Z", b"abc"),
        ("YQ", b"a"),
        ("YWI", b"ab"),
        ("YWJjZA", b"abcd"),
        ("YWJjZGU", b"abcde"),
        ("Y!WJj*Z", b"abc"),
        ("YQ==YWI", b"a"),
        ("é-_-_", b"\xfb\xff\xbf"),
        ("YWJjZGVmZ", b"abcdef"),
        ("YW!JjZGVmZ2hpa", b"abcdefghi"),
    ],
)
def test_base64_partial_quanta(encoded, expected):
    assert decode_base64(encoded) == expected


# --- POST: content type ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=UTF-8",
        "Application/JSON;charset=iso-8859-1",
        "text/plain",
        "text/plain;charset=UTF-8",
    ],
)
def test_post_json_content_types_accepted(post, content_type):
    parsed = post([PAGE_VIEW], content_type=content_type)
    assert parsed.events == [PAGE_VIEW]
    assert parsed.violations == []


@pytest.mark.parametrize(
    "content_type",
    [None, "application/x-www-form-urlencoded", "text/html", "application/jsonp", "multipart/form-data; boundary=x"],
)
def test_post_other_content_types_are_one_violation_naming_content_type(post, content_type):
    message = only_message(post([PAGE_VIEW], content_type=content_type))
    assert message["field"] == "contentType"
    assert message["value"] == content_type
    assert "application/json" in message["expectation"]


# --- POST: the payload as a whole -------------------------------------------------------------

SCHEMA_OF = "iglu:com.snowplowanalytics.snowplow/{}/jsonschema/{}"
CRITERION = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-*"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", {"field": "body", "error_has": "invalid JSON"}),
        (b"", {"field": "body", "expectation_has": "empty body"}),
        (b" \r\n\t", {"field": "body", "expectation_has": "empty body"}),
        (b"[" + orjson.dumps(PAGE_VIEW) + b"]", {"json": [PAGE_VIEW], "error": "INVALID_DATA_PAYLOAD"}),
        (orjson.dumps({"data": [PAGE_VIEW]}), {"error": "INVALID_SCHEMA"}),
        (orjson.dumps({"schema": "payload_data", "data": [PAGE_VIEW]}), {"error": "INVALID_IGLUURI"}),
        (
            orjson.dumps({"schema": SCHEMA_OF.format("contexts", "1-0-0"), "data": [PAGE_VIEW]}),
            {"schemaKey": SCHEMA_OF.format("contexts", "1-0-0"), "schemaCriterion": CRITERION},
        ),
        (
            orjson.dumps({"schema": SCHEMA_OF.format("payload_data", "2-0-0"), "data": [PAGE_VIEW]}),
            {"schemaKey": SCHEMA_OF.format("payload_data", "2-0-0"), "schemaCriterion": CRITERION},
        ),
        (
            orjson.dumps({"schema": SCHEMA_OF.format("payload_data", "1-0-4"), "data": []}),
            {"field": "data", "expectation_has": "non-empty"},
        ),
        (
            orjson.dumps({"schema": SCHEMA_OF.format("payload_data", "1-0-4"), "data": PAGE_VIEW}),
            {"field": "data", "expectation_has": "array"},
        ),
    ],
    ids=[
        "not-json",
        "empty-body",
        "whitespace-body",
        "not-self-describing",
        "no-schema",
        "not-an-iglu-uri",
        "wrong-schema",
        "wrong-model",
        "empty-data",
        "data-not-array",
    ],
)
def test_payload_level_violation_is_one_message_and_no_event(post, body, expected):
    message = only_message(post(body))
    for key, value in expected.items():
        if key.endswith("_has"):
            assert value in message[key.removesuffix("_has")]
        else:
            assert message[key] == value


@pytest.mark.parametrize(("count", "accepted"), [(3, True), (4, False)], ids=["at-the-limit", "one-over"])
def test_at_most_max_events_per_request(registry, make_request, payload, count, accepted):
    protocol = Protocol(registry, max_events=3)
    body = payload([PAGE_VIEW] * count)
    parsed = protocol.parse(make_request("POST", headers={"Content-Type": "application/json"}, body=body))
    assert len(parsed.events) == (count if accepted else 0)
    if not accepted:
        [violation] = parsed.violations
        [message] = violation.messages
        assert message["field"] == "data"
        assert "at most 3 events" in message["expectation"]


def test_payload_violation_keeps_the_body_for_the_bad_row(post):
    body = b'{"schema": "iglu:com.acme/x/jsonschema/1-0-0", "data": []}'
    [violation] = post(body).violations
    assert violation.body == body.decode()


@pytest.mark.parametrize("version", ["1-0-0", "1-0-1", "1-0-2", "1-0-3", "1-0-4"])
def test_every_payload_data_version_is_accepted(post, version, payload):
    assert post(payload([PAGE_VIEW], version)).events == [PAGE_VIEW]


@pytest.mark.parametrize(
    ("version", "parameter", "accepted"),
    [("1-0-3", "ttm", False), ("1-0-4", "ttm", True), ("1-0-1", "tnuid", False), ("1-0-2", "tnuid", True)],
)
def test_event_is_judged_against_its_own_payload_data_version(post, payload, version, parameter, accepted):
    event = {**PAGE_VIEW, parameter: "1"}
    parsed = post(payload([event], version))
    assert (parsed.events == [event]) is accepted
    assert len(parsed.violations) == (0 if accepted else 1)


# --- POST: each event judged alone -------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_event", "says"),
    [
        ({**PAGE_VIEW, "e": 1}, ["event.e must be string"]),
        ({**PAGE_VIEW, "dtm": 1700000000000}, ["event.dtm must be string"]),
        ({**PAGE_VIEW, "e": None}, ["event.e must be string"]),
        ({**PAGE_VIEW, "zzz": "1"}, ["zzz", "event must not contain"]),
        ({**PAGE_VIEW, "data": "1"}, ["event must not contain {'data'}"]),
        ({"p": "web", "tv": "t"}, ["'e'", "event must contain"]),
        ({"e": "pv", "tv": "t"}, ["'p'", "event must contain"]),
        ({"e": "pv", "p": "web"}, ["'tv'", "event must contain"]),
        ("e=pv", ["event must be object"]),
    ],
    ids=["number", "number-dtm", "null", "unknown-key", "key-named-data", "no-e", "no-p", "no-tv", "not-object"],
)
def test_one_malformed_event_is_one_violation_and_the_batch_goes_on(post, bad_event, says):
    parsed = post([PAGE_VIEW, bad_event, STRUCT])
    assert parsed.events == [PAGE_VIEW, STRUCT]
    [violation] = parsed.violations
    [message] = violation.messages
    assert message["field"] == "data"
    for words in says:
        assert words in message["expectation"]
    body = orjson.loads(violation.body)  # the bad row holds that event only, in its payload_data
    assert body == {"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", "data": [bad_event]}


def test_query_string_parameters_are_merged_into_every_post_event_and_win(post):
    parsed = post([PAGE_VIEW, STRUCT], query="tv=override-1&aid=shop+app")
    assert parsed.events == [
        {**PAGE_VIEW, "tv": "override-1", "aid": "shop app"},
        {**STRUCT, "tv": "override-1", "aid": "shop app"},
    ]


def test_a_schemas_folder_without_payload_data_fails_at_start(tmp_path):
    with pytest.raises(RuntimeError, match="payload_data"):
        Protocol(Registry(tmp_path), max_events=10)


def test_a_body_that_is_not_utf8_is_kept_with_replacement_characters(post):
    [violation] = post(b"\xff{not json").violations
    assert violation.body == "\ufffd{not json"
