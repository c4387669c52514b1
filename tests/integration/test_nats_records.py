"""What the NATS stream keeps of each record (SPEC §6): one id per record, not per request, so
JetStream's de-duplication drops a tracker's retry and nothing else; and every record within the
server's message limit, so that no acknowledged record is refused by the broker for good."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
from http_support import JSON, SIZE_VIOLATION, TP2, assert_valid_bad_row, page_view, payload_data, post, wait_until
from nats_support import BAD, GOOD, collector_env


def malformed(marker: str) -> dict[str, Any]:
    """Not a tracker event (a number where the protocol wants a string): a tracker_protocol_violations row."""
    return {"e": "pv", "p": "web", "tv": 1, "page": marker}


def client(n: int) -> dict[str, str]:
    """A distinct client behind the trusted loopback proxy: its own address and cookie."""
    return {"X-Forwarded-For": f"203.0.113.{n}", "Cookie": f"sp={uuid.UUID(int=n)}", "User-Agent": "test"}


SAME_EID = str(uuid.uuid4())

# case → requests (client number, body as a function of the case's marker) → (good, bad) stored
CASES: dict[str, tuple[list[tuple[int, Any]], tuple[int, int]]] = {
    "two malformed events and a good one in one request": (
        [(1, lambda m: payload_data(malformed(m), malformed(m + " again"), page_view(page=m)))],
        (1, 2),
    ),
    "the same malformed event twice in one request": (
        [(1, lambda m: payload_data(malformed(m), malformed(m)))],
        (0, 2),
    ),
    "identical malformed payloads from two clients": (
        [(1, lambda m: f"not json {m}"), (2, lambda m: f"not json {m}")],
        (0, 2),
    ),
    "three different events sharing one eid": (
        [(1, lambda m: payload_data(*(page_view(eid=SAME_EID, page=f"{m} {n}") for n in range(3))))],
        (3, 0),
    ),
    "a retry of the same request": (
        [(1, lambda m: payload_data(page_view(eid=SAME_EID, page=m), malformed(m))) for _ in range(2)],
        (1, 1),
    ),
    "a retry whose events carry a new sent time (stm)": (
        [
            (1, lambda m, n=n: payload_data(page_view(eid=SAME_EID, page=m, stm=str(1_700_000_000_000 + n))))
            for n in range(2)
        ],
        (1, 0),
    ),
}


def test_each_record_is_kept_and_only_a_retry_is_dropped(nats_server, collector_factory):
    collector = collector_factory(env=collector_env(nats_server))
    for case, (requests, expected) in CASES.items():
        marker = f"case {uuid.uuid4()}"
        for number, body in requests:
            content = body(marker)
            data = content.encode() if isinstance(content, str) else orjson.dumps(content)
            answer = httpx.post(collector.url + TP2, content=data, headers={**JSON, **client(number)})
            assert answer.status_code == 200, case
        stored = nats_server.messages()
        counts = tuple(
            sum(message.subject == subject and marker.encode() in message.data for message in stored)
            for subject in (GOOD, BAD)
        )
        assert counts == expected, case


# --- records larger than the server's max_payload ---------------------------------------------

SMALL_LIMIT = 8192  # nats-server max_payload for these tests; its default is 1 MiB


def big_page_view() -> dict[str, str]:
    """A valid page view whose enriched event is about 14 KB: every field within its atomic limit."""
    return page_view(
        url="https://shop.example/" + "p" * 2900, page="t" * 1900, refr="https://ref.example/" + "r" * 3000
    )


def test_records_larger_than_the_servers_limit_become_size_violations_that_fit(nats_server, collector_factory):
    nats_server.stop()
    nats_server.max_payload = SMALL_LIMIT
    nats_server.start()
    collector = collector_factory(env=collector_env(nats_server))
    big_event = big_page_view()
    malformed_body = "not json " + "x" * 600_000  # under the 1 MiB payload limit, its bad row is not
    assert post(collector.url, big_event).status_code == 200
    assert httpx.post(collector.url + TP2, content=malformed_body, headers=JSON).status_code == 200
    small = page_view()
    assert post(collector.url, small).status_code == 200, "later records are never blocked"

    assert [event["event_id"] for event in nats_server.records(GOOD)] == [small["eid"]]
    rows = [message for message in nats_server.messages() if message.subject == BAD]
    assert len(rows) == 2
    for message in rows:
        assert len(message.data) <= SMALL_LIMIT
        row = message.json()
        assert row["schema"] == SIZE_VIOLATION
        assert_valid_bad_row(row)
        assert row["data"]["failure"]["actualSizeBytes"] > SMALL_LIMIT
    event_row, body_row = (row.json()["data"]["payload"] for row in rows)
    assert big_event["eid"] in event_row, "the cut event still names itself"
    assert "tracker_protocol_violations" in body_row and "not json xxx" in body_row


def test_records_larger_than_the_streams_max_msg_size_become_size_violations_that_fit(nats_server, collector_factory):
    nats_server.create_stream(max_msg_size=SMALL_LIMIT)  # the server's own limit stays 1 MiB
    collector = collector_factory(env=collector_env(nats_server))
    big_event, small = big_page_view(), page_view()
    assert post(collector.url, big_event, small).status_code == 200
    assert [event["event_id"] for event in nats_server.records(GOOD)] == [small["eid"]]
    [row] = nats_server.records(BAD)
    assert row["schema"] == SIZE_VIOLATION and big_event["eid"] in row["data"]["payload"]
    assert row["data"]["failure"]["maximumAllowedSizeBytes"] < SMALL_LIMIT


def test_a_stream_whose_limit_shrinks_refuses_once_then_the_retry_fits(nats_server, collector_factory):
    collector = collector_factory(env=collector_env(nats_server))
    assert post(collector.url, page_view()).status_code == 200
    nats_server.create_stream(update=True, max_msg_size=SMALL_LIMIT)  # an operator tightens the stream
    big_event = big_page_view()
    assert post(collector.url, big_event).status_code == 503, "refused by the stream: not acknowledged"
    assert post(collector.url, big_event).status_code == 200, "the tracker's retry is sized for the new limit"
    [row] = nats_server.records(BAD)
    assert row["schema"] == SIZE_VIOLATION and big_event["eid"] in row["data"]["payload"]


def test_a_spooled_batch_the_server_refuses_for_good_is_set_aside(nats_server, collector_factory, tmp_path):
    spool = tmp_path / "spool"
    collector = collector_factory(env=collector_env(nats_server, COLLECTOR_SPOOL_DIR=str(spool)))
    nats_server.stop()
    big_event = big_page_view()  # fits the 1 MiB limit the collector knows of
    assert post(collector.url, big_event).status_code == 200, "the spool takes it while the server is away"
    assert list(spool.rglob("*.batch"))
    nats_server.max_payload = SMALL_LIMIT  # the server comes back with a smaller limit
    nats_server.start()
    later = page_view()
    assert post(collector.url, later).status_code == 200

    wait_until(lambda: [event["event_id"] for event in nats_server.records(GOOD)] == [later["eid"]], timeout_s=20)
    [failed] = spool.rglob("*.failed")
    assert big_event["eid"] in failed.read_text(), "kept on disk for an operator"
    assert not list(spool.rglob("*.batch"))
