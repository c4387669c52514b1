"""The HTTP sink against a real local HTTP receiver that can fail on purpose (docs/behaviour.md#acknowledgement, #sinks).

The receiver is a plain `http.server` on a free loopback port. It keeps every batch it accepts
and can be switched to answer 500, or to drop the connection without an answer, for a while.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import orjson
import pytest
from http_support import (
    SCHEMA_VIOLATIONS,
    acknowledged_sender,
    assert_valid_bad_row,
    page_view,
    pixel,
    post,
    raw_parameters,
    wait_until,
)

from tests.conftest import ROOT
from tests.load import Load


@dataclass(frozen=True)
class Batch:
    path: str
    content_type: str | None
    content_encoding: str | None
    body: bytes  # as received, before decompression

    @property
    def lines(self) -> list[bytes]:
        text = gzip.decompress(self.body)
        assert text.endswith(b"\n"), "a batch is whole JSON lines"
        return text[:-1].split(b"\n")

    @property
    def records(self) -> list[dict]:
        return [orjson.loads(line) for line in self.lines]


class Receiver:
    """Accepts POSTed batches; `mode` is "ok", "fail" (answer 500), "reject" (answer 400: never this
    batch) or "drop" (close, no answer)."""

    def __init__(self, answers_head: bool = True) -> None:
        self.mode = "ok"
        self.answers_head = answers_head
        self.batches: list[Batch] = []
        self.refused = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):  # without do_X, method X gets 501 Not Implemented
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self._refuse():
                    return
                with receiver._lock:
                    receiver.batches.append(
                        Batch(self.path, self.headers["Content-Type"], self.headers["Content-Encoding"], body)
                    )
                self._answer(200)

            def do_HEAD(self) -> None:
                if not receiver.answers_head:
                    self.send_error(501)
                elif not self._refuse():
                    self._answer(200)

            def _refuse(self) -> bool:
                mode = receiver.mode
                if mode == "ok":
                    return False
                with receiver._lock:
                    receiver.refused += 1
                if mode == "drop":
                    self.close_connection = True  # hang up without a status line
                elif mode == "reject":
                    self._answer(400)
                else:
                    self._answer(500)
                return True

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        return Handler

    def records(self, path: str) -> list[dict]:
        with self._lock:
            return [record for batch in self.batches if batch.path == path for record in batch.records]

    def event_ids(self) -> list[str]:
        return [
            record["event_id"] for batch in self.batches if batch.path.startswith("/good") for record in batch.records
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


def http_env(receiver: Receiver, **extra: str) -> dict[str, str]:
    return {
        "COLLECTOR_SINK": "http",
        "COLLECTOR_HTTP_GOOD_URL": f"{receiver.base}/good",
        "COLLECTOR_HTTP_BAD_URL": f"{receiver.base}/bad",
        "COLLECTOR_SINK_TIMEOUT_SECONDS": "2",
        "COLLECTOR_HTTP_ATTEMPTS": "2",
        "COLLECTOR_HTTP_BACKOFF_SECONDS": "0.05",
        **extra,
    }


def sink_health(url: str) -> int:
    return httpx.get(url + "/sink-health", timeout=10).status_code


def started(collector_factory, env: dict[str, str]):
    collector = collector_factory(env=env)
    wait_until(lambda: sink_health(collector.url) == 200, 15)
    return collector


def test_batches_arrive_gzipped_whole_and_as_stored(receiver, collector_factory):
    collector = started(collector_factory, http_env(receiver))
    viewed = page_view()
    assert pixel(collector.url, viewed).status_code == 200
    first, second, third, broken = page_view(page="1"), page_view(page="2"), page_view(page="3"), page_view(vid="x")
    assert post(collector.url, first, second, third, broken).status_code == 200

    wait_until(lambda: len(receiver.event_ids()) >= 4 and receiver.records("/bad"))
    assert all(
        batch.content_encoding == "gzip" and batch.content_type == "application/x-ndjson" for batch in receiver.batches
    )
    good_batches = [
        [record["event_id"] for record in batch.records] for batch in receiver.batches if batch.path == "/good"
    ]
    # One request after the other: one batch each, a request's events together and in order.
    assert good_batches == [[viewed["eid"]], [first["eid"], second["eid"], third["eid"]]]
    by_id = {record["event_id"]: record for record in receiver.records("/good")}
    assert by_id[viewed["eid"]]["page_url"] == "https://shop.example/"
    assert by_id[second["eid"]]["page_title"] == "2"
    assert by_id[second["eid"]]["v_collector"].endswith("-http")
    [bad_row] = receiver.records("/bad")
    assert bad_row["schema"] == SCHEMA_VIOLATIONS
    assert_valid_bad_row(bad_row)
    assert raw_parameters(bad_row)["eid"] == broken["eid"]


def test_a_receiver_that_only_takes_post_still_makes_the_service_ready(collector_factory):
    receiver = Receiver(answers_head=False)  # readiness probes with HEAD; this one answers 501
    try:
        collector = started(collector_factory, http_env(receiver))
        event = page_view()
        assert post(collector.url, event).status_code == 200
        assert receiver.event_ids() == [event["eid"]]
    finally:
        receiver.close()


def test_readiness_follows_the_receiver_while_no_events_flow(receiver, collector_factory):
    collector = started(collector_factory, http_env(receiver))
    receiver.mode = "fail"
    wait_until(lambda: sink_health(collector.url) == 503)  # noticed without a single write
    receiver.mode = "ok"
    wait_until(lambda: sink_health(collector.url) == 200)
    assert receiver.batches == []


def test_failing_receiver_gives_503_then_recovers_by_itself_and_acknowledged_events_arrive_as_sent(
    receiver, collector_factory
):
    collector = started(collector_factory, http_env(receiver, COLLECTOR_RETRY_AFTER_SECONDS="7"))
    during = Load(collector.url, senders=2, batch_size=5).start()
    try:
        during.wait_for(lambda: during.statuses[200] >= 10, what="traffic flowing")

        receiver.mode = "fail"
        during.wait_for(lambda: during.statuses[503] >= 4, what="503s while the receiver answers 500")
        assert sink_health(collector.url) == 503
        refused = pixel(collector.url, page_view())
        assert refused.status_code == 503 and refused.headers["retry-after"] == "7"

        receiver.mode = "drop"
        dropped_at = during.statuses[503]
        during.wait_for(lambda: during.statuses[503] >= dropped_at + 4, what="503s while the receiver hangs up")
    finally:
        during.stop()
    assert sink_health(collector.url) == 503

    receiver.mode = "ok"
    # Nothing is sent now (a load balancer sends no traffic to a replica that is not ready):
    # the service has to find out by itself that the receiver is back.
    wait_until(lambda: sink_health(collector.url) == 200)
    after = Load(collector.url, senders=2, batch_size=5).start()
    try:
        after.wait_for(lambda: after.statuses[200] >= 10, what="200s after the receiver is back")
    finally:
        after.stop()
    assert during.transport_errors == after.transport_errors == 0
    assert after.statuses[503] == 0

    delivered = receiver.records("/good")
    # A batch is answered 200 only once the receiver took it, and a refused batch left nothing
    # there: what arrived is exactly what was acknowledged, each once, unchanged.
    assert sorted(record["event_id"] for record in delivered) == sorted(during.acknowledged + after.acknowledged)
    assert all(
        (record["se_category"], record["se_action"], record["se_label"]) == ("load", "send", record["event_id"])
        for record in delivered
    )


def test_spool_acknowledges_while_the_receiver_fails_and_delivers_in_order_after(
    receiver, collector_factory, tmp_path: Path
):
    spool = tmp_path / "spool"
    collector = started(collector_factory, http_env(receiver, COLLECTOR_SPOOL_DIR=str(spool)))
    acknowledged: list[str] = []

    send = acknowledged_sender(collector.url, acknowledged)

    for _ in range(3):
        send()
    receiver.mode = "fail"
    broken = page_view(vid="not-a-number")
    send(broken)
    send()
    receiver.mode = "drop"
    send()
    send()
    refused_so_far = receiver.refused
    assert refused_so_far > 0, "the outage really reached the sink"
    assert len(receiver.event_ids()) == 9, "nothing acknowledged during the outage has been delivered yet"
    spooled = b"".join(path.read_bytes() for path in sorted((spool / "good").glob("*/*.batch")))
    assert all(eid.encode() in spooled for eid in acknowledged[9:]), "acknowledged during the outage: on disk"
    assert sink_health(collector.url) == 503

    receiver.mode = "ok"
    for _ in range(3):
        send()

    wait_until(lambda: len(receiver.event_ids()) >= len(acknowledged), 15)
    assert receiver.event_ids() == acknowledged, "delivered once each, in acknowledgement order"
    wait_until(lambda: bool(receiver.records("/bad")), 15)  # the bad output's spool drains on its own
    [bad_row] = receiver.records("/bad")
    assert raw_parameters(bad_row)["eid"] == broken["eid"]
    wait_until(lambda: not list(spool.glob("*/*/*.batch")))  # sent on means removed from the spool


def test_batches_set_aside_as_failed_are_sent_again_by_the_resend_command(receiver, collector_factory, tmp_path):
    env = http_env(receiver, COLLECTOR_SPOOL_DIR=str(tmp_path / "spool"))
    collector = started(collector_factory, env)
    receiver.mode = "reject"  # a receiver misconfigured: it refuses every batch for good
    refused = [page_view(), page_view()]
    for event in refused:
        assert post(collector.url, event).status_code == 200  # the spool took custody
    failed = tmp_path / "spool" / "good"
    wait_until(lambda: len(list(failed.glob("*/*.failed"))) == 2)
    assert collector.stop() == 0

    command = [sys.executable, "-m", "app", "resend-failed"]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")} | env
    still_refused = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)
    assert still_refused.returncode == 1, still_refused.stderr
    assert len(list(failed.glob("*/*.failed"))) == 2, "a batch refused again is kept"

    receiver.mode = "ok"  # the operator fixed the receiver
    resent = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)
    assert resent.returncode == 0, resent.stdout + resent.stderr
    assert "2 batches sent, 0 kept" in resent.stderr
    assert receiver.event_ids() == [event["eid"] for event in refused], "not sent again in spooled order"
    assert list(failed.glob("*/*.failed")) == []
