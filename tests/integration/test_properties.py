"""Property tests against the running service: whatever a tracker (or anyone) sends, the answer is
never a 5xx, the process survives, and every request is either refused with a 4xx or fully
accounted for: exactly as many records (good events plus bad rows) as it carried events."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Collector

TP2 = "/com.snowplowanalytics.snowplow/tp2"
PAYLOAD_DATA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"
CLIENT_SESSION = "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2"
PARAMETERS = [
    "e",
    "p",
    "tv",
    "eid",
    "sid",
    "vid",
    "dtm",
    "stm",
    "ttm",
    "res",
    "vp",
    "url",
    "refr",
    "ip",
    "nuid",
    "tnuid",
    "cx",
    "co",
    "ue_px",
    "ue_pr",
    "se_va",
    "tr_tt",
    "cookie",
    "f_pdf",
    "aid",
    "uid",
    "duid",
]

text = st.text(max_size=40)
odd_text = st.one_of(text, st.text(alphabet=st.characters(codec="utf-8"), max_size=300), st.just("x" * 2000))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=20,
)


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


json_texts = st.one_of(
    json_values.map(json.dumps),
    st.builds(
        lambda data: json.dumps(
            {"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0", "data": data}
        ),
        json_values,
    ),
    st.builds(
        lambda data: json.dumps(
            {
                "schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0",
                "data": [{"schema": CLIENT_SESSION, "data": data}],
            }
        ),
        json_values,
    ),
    st.integers(1, 2000).map(deep),
    text,
)
parameter_values = st.one_of(
    odd_text,
    json_texts,
    json_texts.map(lambda value: b64(value.encode())),
    st.binary(max_size=60).map(b64),
    st.sampled_from(["pv", "se", "ue", "web", "mob", "1", "0", "null", "1x1", "-5", "9" * 30, "1e400"]),
)
events = st.dictionaries(st.sampled_from(PARAMETERS) | text, parameter_values, min_size=1, max_size=12)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Cookie": st.sampled_from(["sp=not-a-uuid", "sp=", "sp=00000000-0000-4000-8000-000000000000; x=1", ";;=", "a"]),
        "SP-Anonymous": st.just("*"),
        "X-Forwarded-For": st.sampled_from(["1.2.3.4", "unknown, ::1", "[2001:db8::1]:80, 10.0.0.1", "garbage", ""]),
        "Forwarded": st.sampled_from(['for="[2001:db8::2]:443"', "for=_hidden;proto=https", "by=x"]),
        "Origin": st.sampled_from(["https://a.example", "null", "http://[::1", "a b c"]),
        "User-Agent": st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=200),
    },
)


def count(collector: Collector) -> int:
    return len(collector.good()) + len(collector.bad())


def judge(collector: Collector, response: httpx.Response, before: int, carried: int) -> None:
    assert response.status_code < 500, response.text
    assert collector.process.poll() is None, "the service died"
    added = count(collector) - before
    bugs = [row for row in collector.bad() if "generic_error" in row["schema"]]
    assert not bugs, f"the pipeline failed: {bugs[-1]['data']['failure']['errors']}"
    if response.status_code >= 400:
        assert added == 0, f"a {response.status_code} answer stored {added} records"
    else:
        assert added == carried, (
            f"{carried} events carried, {added} records stored: {response.status_code} {response.text}"
        )


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from tests.conftest import start_collector

    collector = start_collector(tmp_path_factory.mktemp("properties") / "data")
    yield collector
    collector.stop()


FAST = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@FAST
@given(event=events, request_headers=headers)
def test_any_get_is_one_record(service, event, request_headers):
    query = "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in event.items())
    before = count(service)
    response = httpx.get(f"{service.url}/i?{query}", headers=request_headers)
    judge(service, response, before, carried=1)


@FAST
@given(batch=st.lists(events | json_values, min_size=1, max_size=15), request_headers=headers)
def test_any_batch_is_one_record_per_event(service, batch, request_headers):
    before = count(service)
    body = json.dumps({"schema": PAYLOAD_DATA, "data": batch})
    response = httpx.post(
        f"{service.url}{TP2}", content=body, headers={**request_headers, "Content-Type": "application/json"}
    )
    judge(service, response, before, carried=len(batch))


@FAST
@given(
    body=st.one_of(st.binary(max_size=400), json_values.map(lambda value: json.dumps(value).encode())),
    content_type=st.sampled_from(
        ["application/json", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", ""]
    ),
    request_headers=headers,
)
def test_any_other_body_is_one_bad_row_or_a_4xx(service, body, content_type, request_headers):
    before = count(service)
    response = httpx.post(
        f"{service.url}{TP2}", content=body, headers={**request_headers, "Content-Type": content_type}
    )
    judge(service, response, before, carried=1)
