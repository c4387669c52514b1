"""/metrics after known traffic: the counters match it exactly, with one worker or several."""

from __future__ import annotations

import time

import httpx
import pytest
from http_support import page_view, post, wait_until
from prometheus_client.parser import text_string_to_metric_families

TP2 = "/com.snowplowanalytics.snowplow/tp2"
PAYLOAD_DATA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"


def samples(url: str) -> dict[tuple[str, tuple], float]:
    text = httpx.get(f"{url}/metrics").text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.mark.parametrize("workers", ["1", "2"])
def test_counters_match_the_traffic(collector_factory, workers):
    collector = collector_factory(args=["--workers", workers])
    with httpx.Client(base_url=collector.url) as client:
        for _ in range(5):
            assert client.get("/i", params={"e": "pv", "p": "web"}).status_code == 200
        assert client.get("/i", params={"e": "pv", "p": "web"}, headers={"SP-Anonymous": "*"}).status_code == 200
        batch = {
            "schema": PAYLOAD_DATA,
            "data": [{"e": "pv", "p": "web", "tv": "t"}, {"e": "pv", "p": "nope", "tv": "t"}],
        }
        assert client.post(TP2, json=batch).status_code == 200
        assert client.post(TP2, content=b"not json", headers={"Content-Type": "application/json"}).status_code == 200
        assert client.options("/i").status_code == 200

    found = samples(collector.url)
    assert found[("collector_requests_total", (("route", "/i"), ("status", "200")))] == 7  # 6 pixels, 1 preflight
    assert found[("collector_requests_total", (("route", TP2), ("status", "200")))] == 2
    assert found[("collector_events_total", (("outcome", "good"),))] == 7
    assert found[("collector_events_total", (("outcome", "schema_violations"),))] == 1
    assert found[("collector_events_total", (("outcome", "tracker_protocol_violations"),))] == 1
    assert found[("collector_anonymous_events_total", ())] == 1
    assert found[("collector_batch_records_sum", ())] == 9
    assert found[("collector_inflight_records", ())] == 0
    # Every worker reports its sinks once it has started; with two, the second may still be starting.
    deadline = time.monotonic() + 10
    while samples(collector.url)[("collector_sink_healthy", ())] != 1:
        assert time.monotonic() < deadline, "a worker never reported healthy sinks"
    assert len(collector.good()) == 7 and len(collector.bad()) == 2


def test_an_outage_shows_as_unreachable_sink_growing_spool_and_failed_batches(collector_factory, tmp_path):
    from test_http_sink import Receiver, http_env, started

    receiver = Receiver()
    try:
        collector = started(collector_factory, http_env(receiver, COLLECTOR_SPOOL_DIR=str(tmp_path / "spool")))
        assert post(collector.url, page_view()).status_code == 200

        def value(name: str, **labels: str) -> float | None:  # None: not reported (yet)
            return samples(collector.url).get((name, tuple(sorted(labels.items()))))

        assert value("collector_sink_reachable", output="good") == 1
        assert value("collector_sink_healthy") == 1

        receiver.mode = "fail"  # the receiver is down: the spool takes custody, the tracker still gets 200s
        for _ in range(3):
            assert post(collector.url, page_view()).status_code == 200
        wait_until(lambda: value("collector_spool_batches", output="good") == 3)
        assert (value("collector_spool_bytes", output="good") or 0) > 0
        wait_until(lambda: (value("collector_spool_oldest_seconds", output="good") or 0) >= 1)
        assert value("collector_sink_reachable", output="good") == 0
        assert value("collector_sink_healthy") == 0, "a spooled write is not a healthy sink"

        receiver.mode = "reject"  # back, but refusing these batches for good: set aside for an operator
        wait_until(lambda: value("collector_spool_failed_batches", output="good") == 3)
        assert value("collector_spool_batches", output="good") == 0
        assert value("collector_spool_bytes", output="good") == 0
        assert value("collector_spool_oldest_seconds", output="good") == 0
        assert len(list((tmp_path / "spool" / "good").glob("*/*.failed"))) == 3

        assert value("collector_request_seconds_count", route=TP2) == 4
        assert value("collector_request_seconds_bucket", route=TP2, le="+Inf") == 4
    finally:
        receiver.close()
