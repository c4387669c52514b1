"""Never a 500 for malformed input: every request is a good event, a bad row, or a clear 4xx.

Each case states what it should become. `bad=N`: answered 200 with exactly N bad rows and no good
event (docs/behaviour.md#events). `records=N`: answered 200 with N records, good or bad, the contract leaving
the choice open. Every case is also held to the general rule: no 5xx; a 4xx records nothing; every
bad row is valid against its official schema.
"""

from __future__ import annotations

import gzip
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
import orjson
from http_support import (
    PAYLOAD_DATA,
    TP2,
    assert_valid_bad_row,
    b64,
    client_session,
    contexts,
    page_view,
    payload_data,
    raw_request,
)

UNSTRUCT = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"
LINK_CLICK = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"
CONTEXTS_1_0_1 = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"


def link_click(**data) -> str:
    return orjson.dumps({"schema": UNSTRUCT, "data": {"schema": LINK_CLICK, "data": data}}).decode()


def edited_session(old: str, new: str) -> str:
    """A `co` holding a valid client_session, with its JSON text edited."""
    return orjson.dumps(contexts(client_session())).decode().replace(old, new)


def valid_body() -> bytes:
    return orjson.dumps(payload_data(page_view()))


@dataclass
class Case:
    """A GET query (`query`, sent as given, or `params`) or a POST body to tp2."""

    params: dict[str, str] | None = None
    query: bytes | None = None  # raw, for what httpx would re-encode
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    bad: int | None = None
    records: int | None = None


def get(bad: int | None = None, records: int | None = None, **params: str) -> Case:
    return Case(params=page_view(**params), bad=bad, records=records)


def raw_get(query: bytes, records: int = 1) -> Case:
    return Case(query=query, records=records)


def post_body(
    body: bytes | str,
    bad: int | None = None,
    records: int | None = None,
    content_type: str | None = "application/json",
    **headers: str,
) -> Case:
    if content_type is not None:
        headers["Content-Type"] = content_type
    return Case(body=body.encode() if isinstance(body, str) else body, headers=headers, bad=bad, records=records)


def post_events(*events, bad: int | None = None, records: int | None = None, schema: str = PAYLOAD_DATA) -> Case:
    return post_body(orjson.dumps({"schema": schema, "data": list(events)}), bad=bad, records=records)


PV = "e=pv&p=web&tv=t"
CASES = {
    # entities and self-describing events
    "cx not base64": get(bad=1, cx="!!!%%%***"),
    "cx base64 of text": get(bad=1, cx=b64("not json at all")),
    "cx base64 of invalid UTF-8": get(bad=1, cx="__79_w"),
    "cx without data": get(bad=1, cx=b64({"schema": CONTEXTS_1_0_1})),
    "cx data not an array": get(bad=1, cx=b64({"schema": CONTEXTS_1_0_1, "data": {"a": 1}})),
    "cx entity not self-describing": get(bad=1, cx=b64(contexts({"userId": "x"}))),
    "cx entity schema unknown": get(
        bad=1, cx=b64(contexts({"schema": "iglu:com.acme/nope/jsonschema/1-0-0", "data": {}}))
    ),
    "cx entity schema not an Iglu URI": get(bad=1, cx=b64(contexts({"schema": "http://acme/x", "data": {}}))),
    "cx wrapper not contexts": get(bad=1, cx=b64({"schema": UNSTRUCT, "data": []})),
    "co broken JSON": get(bad=1, co=f'{{"schema": "{CONTEXTS_1_0_1}", "data": ['),
    "co a JSON array": get(bad=1, co="[]"),
    "co JSON null": get(bad=1, co="null"),
    "co lone surrogate": get(bad=1, co=edited_session("COOKIE_1", "\\ud800")),
    "co nested 5000 deep": get(bad=1, co="[" * 5000 + "]" * 5000),
    "co huge number": get(bad=1, co=edited_session('"sessionIndex":1', '"sessionIndex":1e400')),
    "co huge integer": get(bad=1, co=edited_session('"sessionIndex":1', '"sessionIndex":' + "9" * 40)),
    "ue without payload": get(bad=1, e="ue"),
    "ue_px not base64": get(bad=1, e="ue", ue_px="%%%"),
    "ue_pr broken JSON": get(bad=1, e="ue", ue_pr='{"schema":'),
    "ue_pr not unstruct_event": get(bad=1, e="ue", ue_pr=orjson.dumps(contexts()).decode()),
    "ue_pr inner not self-describing": get(
        bad=1, e="ue", ue_pr=orjson.dumps({"schema": UNSTRUCT, "data": 42}).decode()
    ),
    "ue_pr invalid data": get(bad=1, e="ue", ue_pr=link_click(targetUrl=123)),
    "ue_pr unknown schema": get(bad=1, e="ue", ue_pr=link_click(targetUrl="x").replace("link_click", "no_such_event")),
    # atomic fields
    "unknown event type": get(bad=1, e="zz"),
    "unknown platform": get(bad=1, p="spaceship"),
    "no event type": Case(params={"p": "web", "tv": "t", "url": "https://a.example/"}, bad=1),
    "session index not a number": get(bad=1, vid="ten"),
    "session index beyond 32 bits": get(bad=1, vid=str(2**31)),
    "session id not a UUID": get(bad=1, sid="session-1"),
    "timestamp out of range": get(bad=1, dtm="9" * 25),
    "screen size not WxH": get(bad=1, res="wide"),
    "decimal not a number": get(bad=1, e="se", se_ca="c", se_ac="a", se_va="NaN"),
    "boolean not 0/1": get(bad=1, f_pdf="yes"),
    "url over 10000": get(bad=1, url="https://a.example/" + "p" * 10_000),
    "title over 2000": get(bad=1, page="t" * 50_000),
    "invalid eid is replaced": get(records=1, eid="not-a-uuid"),
    "control characters": get(records=1, page="a\x00b\tc\nd\x7f"),
    # query strings as they arrive on the wire
    "invalid percent-encoding": raw_get(PV.encode() + b"&page=%zz%e2%28%a1%"),
    "raw non-UTF-8 bytes": raw_get(PV.encode() + b"&page=%ff%fe&url=%c3%28"),
    "empty names and values": raw_get(b"&&=&=x&" + PV.encode()),
    "no values at all": raw_get(b"e&p&tv"),
    "only separators": raw_get(b"&&&", records=0),  # no parameter: no event, like an empty query
    "repeated parameters": raw_get(b"e=pv&e=se&" + PV.encode()),
    # POST bodies
    "wrong content type": post_body(valid_body(), bad=1, content_type="application/x-www-form-urlencoded"),
    "no content type": post_body(valid_body(), bad=1, content_type=None),
    "empty body": post_body(b"", bad=1),
    "whitespace body": post_body(b" \n\t ", bad=1),
    "binary body": post_body(bytes(range(256)) * 4, bad=1),
    "broken JSON": post_body(f'{{"schema": "{PAYLOAD_DATA}", "data": [', bad=1),
    "JSON array": post_body("[1, 2, 3]", bad=1),
    "JSON string": post_body('"hello"', bad=1),
    "JSON null": post_body("null", bad=1),
    "JSON with BOM": post_body(b"\xef\xbb\xbf" + valid_body(), records=1),
    "JSON nested 5000 deep": post_body("[" * 5000 + "]" * 5000, bad=1),
    "latin-1 bytes in JSON": post_body(
        valid_body().replace(b"shop", b"sh\xf6p"), records=1, content_type="application/json; charset=iso-8859-1"
    ),
    "not payload_data": post_events(page_view(), bad=1, schema=CONTEXTS_1_0_1),
    "payload_data 2-0-0": post_events(page_view(), bad=1, schema=PAYLOAD_DATA.replace("1-0-4", "2-0-0")),
    "schema not a string": post_events(page_view(), bad=1, schema=["x"]),
    "data an object": post_body(orjson.dumps({"schema": PAYLOAD_DATA, "data": page_view()}), bad=1),
    "data empty": post_events(bad=1),
    "non-object events": post_events(1, "pv", None, [], True, bad=5),
    "event missing e": post_events({"p": "web", "tv": "t"}, bad=1),
    "event with an unknown parameter": post_events(page_view(colour="blue"), bad=1),
    "event with a null value": post_events(page_view(page=None), bad=1),
    "event with a nested value": post_events(page_view(page={"a": 1}), bad=1),
    "huge value in an event": post_events(page_view(se_la="x" * 300_000, e="se", se_ca="c", se_ac="a"), bad=1),
    "many events": post_events(*[page_view(vid="x") for _ in range(500)], bad=500),
    "gzip that is not gzip": post_body(b"\x1f\x8bnot really", records=1, **{"Content-Encoding": "gzip"}),
    "gzip of garbage": post_body(gzip.compress(b"\x00\x01garbage"), bad=1, **{"Content-Encoding": "gzip"}),
}


def _send(collector, case: Case) -> int:
    if case.query is not None:
        request = b"GET /i?" + case.query + b" HTTP/1.1\r\nHost: collector\r\nConnection: close\r\n\r\n"
        return raw_request(collector.port, request)
    if case.params is not None:
        return httpx.get(collector.url + "/i", params=case.params, headers=case.headers).status_code
    return httpx.post(collector.url + TP2, content=case.body, headers=case.headers).status_code


def _problem(case: Case, status: int, good: int, bad: int) -> str | None:
    """What is wrong with how one request was answered and recorded, or None."""
    seen = f"answered {status}, stored {good} good and {bad} bad"
    if 400 <= status < 500:
        return None if good == bad == 0 else f"{seen}; a 4xx must record nothing"
    if status != 200:
        return seen
    if case.bad is not None:
        return None if (good, bad) == (0, case.bad) else f"{seen}; expected {case.bad} bad"
    return None if good + bad == case.records else f"{seen}; expected {case.records} records"


def test_malformed_requests_are_each_a_bad_row_or_a_4xx_never_a_5xx(collector):
    """One service for the whole table (a process per case would be slow); each case is judged by
    what it added to the output."""
    problems = []
    for name, case in CASES.items():
        good_before, bad_before = len(collector.good()), len(collector.bad())
        status = _send(collector, case)
        problem = _problem(case, status, len(collector.good()) - good_before, len(collector.bad()) - bad_before)
        if problem:
            problems.append(f"{name}: {problem}")
        assert collector.process.poll() is None, f"the service died on {name!r}"

    assert not problems, "\n".join(problems)
    for row in collector.bad():
        assert_valid_bad_row(row)


def test_a_request_line_too_long_for_the_server_is_refused_with_a_4xx(collector):
    query = urlencode(page_view(page="x" * 200_000)).encode()
    status = raw_request(collector.port, b"GET /i?" + query + b" HTTP/1.1\r\nHost: collector\r\n\r\n")

    assert 400 <= status < 500
    assert (collector.good(), collector.bad()) == ([], [])


ODD_HEADERS = {
    "cookie": {"Cookie": "sp=\xff\xfe; ;;=; sp"},
    "x-forwarded-for": {"X-Forwarded-For": "unknown, \xff, [::1, 999.1.1.1, "},
    "forwarded": {"Forwarded": 'for=";;;, for=[zz'},
    "origin unclosed": {"Origin": "http://["},
    "two origins": {"Origin": "https://a.example https://b.example"},
    "agent and referer": {"User-Agent": "\xff" * 2000, "Referer": "::not a url::"},
    "anonymous, empty value": {"SP-Anonymous": "", "Cookie": "sp=" + str(uuid.uuid4())},
}


def test_odd_headers_still_give_one_record_each(collector_factory):
    collector = collector_factory(env={"COLLECTOR_COOKIE_DOMAINS": '["a.example"]'})  # so Origin is parsed
    query = urlencode(page_view()).encode()
    problems = []
    for name, headers in ODD_HEADERS.items():
        before = len(collector.good()) + len(collector.bad())
        lines = "".join(f"{header}: {value}\r\n" for header, value in headers.items()).encode("latin-1")
        request = b"GET /i?" + query + b" HTTP/1.1\r\nHost: c\r\n" + lines + b"Connection: close\r\n\r\n"
        status = raw_request(collector.port, request)
        added = len(collector.good()) + len(collector.bad()) - before
        if (status, added) != (200, 1):
            problems.append(f"{name}: answered {status}, stored {added} records")

    assert not problems, "\n".join(problems)
