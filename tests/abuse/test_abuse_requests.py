"""Hostile requests against the real server, directly and behind deploy/nginx.conf: each one costs
the server a bounded amount of CPU and memory, and is answered (never a 500, never a hang)."""

from __future__ import annotations

import gzip
import uuid

import httpx
import orjson
from abuse_support import Front, cpu_seconds, rss_bytes, send_raw

from tests.integration.http_support import JSON, TP2, contexts, page_view, payload_data

TASK_UPDATE = "iglu:com.snowplowanalytics.factotum/task_update/jsonschema/1-0-0"


def stored(front: Front) -> int:
    return len(front.collector.good()) + len(front.collector.bad())


def test_a_backtracking_pattern_costs_milliseconds(front: Front):
    """`\\d+\\.\\d+\\.\\d+-?.*` against "1" × 40,000 cost 7.7 s of CPU with Python's regex engine."""
    entity = {"schema": TASK_UPDATE, "data": {"applicationContext": {"version": "1" * 40_000, "name": "n"}}}
    event = page_view(co=orjson.dumps(contexts(entity)).decode())
    body = orjson.dumps(payload_data(event))
    httpx.get(f"{front.url}/health")  # the connection path is warm before measuring
    before = cpu_seconds(front.collector.process.pid)
    response = httpx.post(front.url + TP2, content=body, headers=JSON, timeout=30)
    spent = cpu_seconds(front.collector.process.pid) - before
    assert response.status_code == 200
    assert spent < 0.05, f"{spent:.3f} s of CPU for one event"
    rows = [row for row in front.collector.bad() if event["eid"] in orjson.dumps(row).decode()]
    assert len(rows) == 1 and rows[0]["schema"].split("/")[1] == "schema_violations"


def test_megabytes_of_repeated_headers_are_refused_while_read(front: Front):
    """2 MiB of `X-A: a` lines cost 26 s of CPU; 300 MB took the RSS from 58 to 362 MB."""
    pid = front.collector.process.pid
    before_cpu, before_rss, before_stored = cpu_seconds(pid), rss_bytes(pid), stored(front)
    head = b"GET /i?e=pv HTTP/1.1\r\nHost: x\r\n" + b"X-A: a\r\n" * 300_000  # 2.4 MB, never ended
    status, answer = send_raw(front.port, head)
    spent = cpu_seconds(pid) - before_cpu
    # Direct, the collector answers 431; nginx refuses such a head itself, with a 400.
    assert status == (431 if front.name == "direct" else 400), answer[:200]
    assert spent < 0.25, f"{spent:.3f} s of CPU for one refused head"
    assert rss_bytes(pid) - before_rss < 16 * 1024 * 1024
    assert stored(front) == before_stored


def test_a_megabyte_url_is_refused_while_read(front: Front):
    """A 104 MB URL grew the RSS by 155 MB: the target is counted as it arrives."""
    pid = front.collector.process.pid
    before_rss, before_stored = rss_bytes(pid), stored(front)
    status, answer = send_raw(front.port, b"GET /i?e=pv&url=" + b"a" * 4 * 1024 * 1024 + b" HTTP/1.1\r\n")
    assert status == 414, answer[:200]
    assert rss_bytes(pid) - before_rss < 16 * 1024 * 1024
    assert stored(front) == before_stored


def test_many_gzip_members_are_bounded(front: Front):
    """104,850 empty gzip members cost 8.5 s (the rest of the body was copied after each member)."""
    body = gzip.compress(b"", mtime=0) * 100_000  # 2 MB, under the drop limit
    before_cpu, before_stored = cpu_seconds(front.collector.process.pid), stored(front)
    headers = {**JSON, "Content-Encoding": "gzip"}
    response = httpx.post(front.url + TP2, content=body, headers=headers, timeout=30)
    spent = cpu_seconds(front.collector.process.pid) - before_cpu
    assert response.status_code == 400 and "gzip members" in response.text
    assert spent < 0.25, f"{spent:.3f} s of CPU for one gzip body"
    assert stored(front) == before_stored
    several = b"".join(gzip.compress(part) for part in (b'{"schema": "', PAYLOAD_DATA_URI, b'", "data": []}'))
    assert httpx.post(front.url + TP2, content=several, headers=headers).status_code == 200  # a few are fine


PAYLOAD_DATA_URI = b"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"


def test_a_byte_order_mark_before_json_is_accepted(front: Front):
    event = page_view()
    body = b"\xef\xbb\xbf" + orjson.dumps(payload_data(event))
    assert httpx.post(front.url + TP2, content=body, headers=JSON).status_code == 200
    assert event["eid"] in {stored_event["event_id"] for stored_event in front.collector.good()}


def test_ordinary_traffic_is_still_stored(front: Front):
    """Sanity: the suite's collector still stores ordinary traffic after all of the above."""
    event = page_view(tv=str(uuid.uuid4()))
    assert httpx.get(front.url + "/i", params=event).status_code == 200
    assert event["eid"] in {stored_event["event_id"] for stored_event in front.collector.good()}


def written(front: Front) -> int:
    """Bytes stored so far, good and bad."""
    return sum(path.stat().st_size for path in front.collector.data_dir.rglob("*.jsonl*"))


def test_a_small_request_cannot_write_megabytes_of_bad_rows(front: Front):
    """1,000 minimal events + a 20 KB `?url=` (56 KB) stored 42 MB of bad rows; 1,000 failing events
    with 30 KB of headers repeated them in every row. A request now writes at most
    COLLECTOR_MAX_BAD_BYTES_PER_REQUEST (4 MiB) of bad rows, and a POST's query string counts once per event."""
    events = [{"e": "pv", "p": "web", "tv": "t", "vid": "x"} for _ in range(1000)]  # each one fails
    body = orjson.dumps(payload_data(*events))
    cases = [
        ("query", {"url": "u" * 7_000}, {}),  # 20 KB in the report; nginx refuses URLs over 8 KB itself
        ("headers", {}, {f"X-Pad-{n}": "p" * 1000 for n in range(30)}),
    ]
    for label, params, headers in cases:
        before = written(front)
        response = httpx.post(front.url + TP2, params=params, content=body, headers={**JSON, **headers}, timeout=30)
        assert response.status_code == 200
        assert written(front) - before < 4 * 1024 * 1024 + 200_000, f"{written(front) - before} bytes for {label}"


def test_an_entity_with_300000_wrong_items_makes_a_small_bad_row(front: Front):
    """A 600 KB change_form with 300,000 wrong array items made a 35.8 MB bad row and cost 6.2 s of CPU."""
    form = {"formId": "f", "elementId": "e", "nodeName": "INPUT", "elementClasses": [1] * 300_000, "value": "v"}
    entity = {"schema": "iglu:com.snowplowanalytics.snowplow/change_form/jsonschema/1-0-0", "data": form}
    event = page_view(co=orjson.dumps(contexts(entity)).decode())
    before_bytes, before_cpu = written(front), cpu_seconds(front.collector.process.pid)
    response = httpx.post(front.url + TP2, content=orjson.dumps(payload_data(event)), headers=JSON, timeout=30)
    spent = cpu_seconds(front.collector.process.pid) - before_cpu
    assert response.status_code == 200
    assert written(front) - before_bytes < 2 * 1024 * 1024  # the event's own 600 KB, once or twice, not 36 MB
    assert spent < 0.5, f"{spent:.3f} s of CPU"
    [row] = [row for row in front.collector.bad() if event["eid"] in orjson.dumps(row).decode()]
    [failure] = [m for m in row["data"]["failure"]["messages"] if "change_form" in m.get("schemaKey", "")]
    assert len(failure["error"]["dataReports"]) == 20
