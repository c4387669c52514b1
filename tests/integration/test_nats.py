"""The NATS JetStream sink against a real nats-server (docs/behaviour.md#acknowledgement, #sinks).

What a user checks is what the stream holds: every acknowledged event, once, in order.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from http_support import TP2, page_view, pixel, post, raw_parameters, wait_until
from nats_support import BAD, GOOD, STREAM, NatsServer, collector_env

from tests.load import Load

BAD_ROWS = "iglu:com.snowplowanalytics.snowplow.badrows"


def sink_health(url: str) -> int:
    return httpx.get(f"{url}/sink-health").status_code


def event_counts(server: NatsServer) -> Counter:
    return Counter(event["event_id"] for event in server.records(GOOD))


def assert_acknowledged_in_stream_once(load: Load, server: NatsServer) -> dict[str, int]:
    """Every acknowledged event is in the stream exactly once and as sent; nothing unsent is there.
    Returns each event id's stream sequence number."""
    messages = [message for message in server.messages() if message.subject == GOOD]
    events = [message.json() for message in messages]
    counts = Counter(event["event_id"] for event in events)
    missing = [eid for eid in load.acknowledged if counts[eid] == 0]
    assert not missing, f"{len(missing)} of {len(load.acknowledged)} acknowledged events are not in the stream"
    twice = [eid for eid in load.acknowledged if counts[eid] > 1]
    assert not twice, f"{len(twice)} acknowledged events are in the stream more than once"
    assert set(counts) <= set(load.sent), "the stream holds events nobody sent"
    assert all(event["se_label"] == event["event_id"] and event["se_action"] == "send" for event in events)
    return {event["event_id"]: message.seq for message, event in zip(messages, events, strict=False)}


def test_a_retried_request_is_in_the_stream_once(nats_server, collector_factory):
    collector = collector_factory(env=collector_env(nats_server))
    views = [page_view() for _ in range(5)]
    invalid = page_view(res="not-a-resolution")  # fails conversion: a schema_violations bad row
    not_a_payload = f"not json {uuid.uuid4()}"  # a tracker_protocol_violations bad row
    single = page_view()

    for attempt in ("first", "retry"):  # a tracker whose first attempt never saw its 200 sends it again
        assert post(collector.url, *views, invalid).status_code == 200, attempt
        assert pixel(collector.url, single).status_code == 200, attempt
        sent_raw = httpx.post(collector.url + TP2, content=not_a_payload, headers={"Content-Type": "application/json"})
        assert sent_raw.status_code == 200, attempt

    good = nats_server.records(GOOD)
    assert Counter(event["event_id"] for event in good) == Counter(v["eid"] for v in [*views, single])
    assert {event["page_url"] for event in good} == {"https://shop.example/"}

    bad = nats_server.records(BAD)
    violations = [row for row in bad if row["schema"].startswith(f"{BAD_ROWS}/schema_violations/")]
    assert [raw_parameters(row)["eid"] for row in violations] == [invalid["eid"]]
    protocol = [row for row in bad if row["schema"].startswith(f"{BAD_ROWS}/tracker_protocol_violations/")]
    assert len(protocol) == 1 and protocol[0]["data"]["payload"]["body"] == not_a_payload
    assert len(bad) == 2


def test_stopped_broker_gives_503_and_every_acknowledged_event_is_kept(nats_server, collector_factory):
    collector = collector_factory(env=collector_env(nats_server))
    load = Load(collector.url, senders=4, batch_size=10).start()
    try:
        load.wait_for(lambda: len(load.acknowledged) >= 300, what="300 acknowledged events")
        nats_server.stop()
        sent_after_stop = pixel(collector.url, page_view())  # nothing can store it now: no 200 for it
        assert sent_after_stop.status_code == 503 and "retry-after" in sent_after_stop.headers
        load.wait_for(lambda: load.statuses[503] >= 20, what="503s while the broker is stopped")
        acknowledged_while_down = len(load.acknowledged)
        refused = load.statuses[503]
        load.wait_for(lambda: load.statuses[503] >= refused + 50, what="more 503s")
        assert len(load.acknowledged) == acknowledged_while_down, "acknowledged while nothing could store it"
        assert sink_health(collector.url) == 503

        nats_server.start()  # same port, same store folder
        load.wait_for(lambda: len(load.acknowledged) >= acknowledged_while_down + 300, what="200s after the restart")
    finally:
        load.stop()
    assert sink_health(collector.url) == 200
    assert_acknowledged_in_stream_once(load, nats_server)


def test_spool_accepts_while_broker_is_stopped_and_forwards_in_acknowledged_order(
    nats_server, collector_factory, tmp_path: Path
):
    spool = tmp_path / "spool"
    collector = collector_factory(env=collector_env(nats_server, COLLECTOR_SPOOL_DIR=str(spool)))
    load = Load(collector.url, senders=4, batch_size=10).start()
    try:
        load.wait_for(lambda: len(load.acknowledged) >= 300, what="300 acknowledged events")
        nats_server.stop()
        stopped_at = len(load.acknowledged)
        load.wait_for(lambda: len(load.acknowledged) >= stopped_at + 400, what="200s from the spool")
        wait_until(lambda: sink_health(collector.url) == 503)  # readiness tells the truth about the broker
        assert list(spool.rglob("*.batch")), "accepted while the broker is stopped, yet nothing is spooled"

        nats_server.start()
        wait_until(lambda: sink_health(collector.url) == 200)  # reconnected: new batches could go straight out
        reconnected_at = len(load.acknowledged)
        load.wait_for(lambda: len(load.acknowledged) >= reconnected_at + 300, what="200s after the reconnection")
    finally:
        load.stop()
    assert load.statuses == Counter({200: load.statuses[200]}) and load.transport_errors == 0, load.statuses

    wait_until(lambda: not list(spool.rglob("*.batch")), timeout_s=20)  # the spool drains by itself
    sequence = assert_acknowledged_in_stream_once(load, nats_server)
    assert sink_health(collector.url) == 200
    for sender, acknowledged in load.acknowledged_by_sender.items():
        positions = [sequence[eid] for eid in acknowledged]
        assert positions == sorted(positions), f"{sender}: the stream does not hold its events in acknowledged order"


def test_unreachable_broker_at_start_keeps_sink_health_503_until_it_is_up(collector_factory, tmp_path: Path):
    broker = NatsServer(tmp_path / "nats-store", tmp_path / "nats-server.log")  # its port: nobody listens yet
    try:
        plain = collector_factory(env=collector_env(broker))
        spooled = collector_factory(env=collector_env(broker, COLLECTOR_SPOOL_DIR=str(tmp_path / "spool")))

        watch_until = time.monotonic() + 2.5  # longer than the sink's reconnect interval: it keeps trying and failing
        while time.monotonic() < watch_until:
            assert sink_health(plain.url) == 503 and sink_health(spooled.url) == 503
        refused, kept = page_view(), page_view()
        response = pixel(plain.url, refused)
        assert response.status_code == 503 and "retry-after" in response.headers
        assert pixel(spooled.url, kept).status_code == 200, "the spool takes custody while the broker is away"
        assert sink_health(spooled.url) == 503, "accepting into the spool does not make the broker ready"

        broker.start()
        wait_until(lambda: sink_health(plain.url) == 200 and sink_health(spooled.url) == 200, timeout_s=15)
        assert pixel(plain.url, refused).status_code == 200  # the tracker's retry

        wanted = Counter({refused["eid"]: 1, kept["eid"]: 1})
        wait_until(lambda: event_counts(broker) == wanted, timeout_s=15)  # the spool sends on by itself
    finally:
        broker.kill()


def test_without_a_stream_the_service_is_not_ready_and_says_which_one_is_missing(nats_server, collector_factory):
    env = collector_env(nats_server)
    del env["COLLECTOR_NATS_STREAM"]  # the operator was to create the stream, and has not
    collector = collector_factory(env=env)

    wait_until(lambda: f"no JetStream stream takes subject {GOOD}" in collector.log())
    assert f"no JetStream stream takes subject {BAD}" in collector.log()
    assert sink_health(collector.url) == 503, "ready while every event would be refused"
    refused = page_view()
    assert pixel(collector.url, refused).status_code == 503

    nats_server.create_stream(STREAM)  # what docs/operations.md tells the operator to do
    wait_until(lambda: sink_health(collector.url) == 200)
    assert pixel(collector.url, refused).status_code == 200  # the tracker's retry
    assert event_counts(nats_server) == Counter({refused["eid"]: 1})
