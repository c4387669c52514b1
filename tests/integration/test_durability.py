"""Acknowledged means stored (docs/behaviour.md#acknowledgement), proved with real faults against the real process."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.load import Load


def stored_ids(records: list[dict]) -> Counter:
    return Counter(record["event_id"] for record in records)


def assert_acknowledged_stored(load: Load, records: list[dict]) -> None:
    """Every acknowledged event is on disk once and exactly as sent."""
    by_id = {record["event_id"]: record for record in records}
    counts = stored_ids(records)
    missing = [eid for eid in load.acknowledged if eid not in by_id]
    assert not missing, f"{len(missing)} acknowledged events lost"
    assert all(counts[eid] == 1 for eid in load.acknowledged), "an acknowledged event was stored twice"
    assert all(by_id[eid]["se_label"] == eid and by_id[eid]["se_action"] == "send" for eid in load.acknowledged)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def not_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/sink-health").status_code == 503
    except httpx.TransportError:
        return True


def test_kill_9_under_load_loses_nothing_acknowledged(collector_factory):
    collector = collector_factory()
    load = Load(collector.url, senders=4, batch_size=10).start()
    load.wait_for(lambda: len(load.acknowledged) >= 500, what="500 acknowledged events")
    collector.process.kill()  # SIGKILL mid-run: no chance to flush anything
    collector.process.wait(10)
    load.stop()
    assert load.transport_errors > 0 or load.statuses[200] > 0

    restarted = collector_factory(data_dir=collector.data_dir)  # recovery seals what the dead process left
    assert not list((collector.data_dir / "good").glob("*.part")), "a file was left unsealed"
    assert_acknowledged_stored(load, restarted.good())
    # Events of requests that never got their 200 may or may not be there; nothing else may.
    assert set(stored_ids(restarted.good())) <= set(load.sent)


def test_failing_sink_answers_503_then_recovers_by_itself(collector_factory, tmp_path):
    switch = tmp_path / "fault"
    collector = collector_factory(env={"COLLECTOR_FAULT_SWITCH": str(switch), "COLLECTOR_RETRY_AFTER_SECONDS": "7"})
    load = Load(collector.url, senders=2).start()
    load.wait_for(lambda: load.statuses[200] >= 20, what="traffic flowing")

    switch.write_text("fail")
    load.wait_for(lambda: load.statuses[503] >= 10, what="503s while the sink fails")
    health = httpx.get(f"{collector.url}/sink-health")
    assert health.status_code == 503
    failed = httpx.get(f"{collector.url}/i", params={"e": "pv", "p": "web"})
    assert failed.status_code == 503 and failed.headers["retry-after"] == "7"

    switch.write_text("")
    recovered_at = load.statuses[200]
    load.wait_for(lambda: load.statuses[200] >= recovered_at + 20, what="200s after recovery")
    load.stop()
    assert httpx.get(f"{collector.url}/sink-health").status_code == 200
    assert_acknowledged_stored(load, collector.good())


def test_vanished_output_folder_gives_503_until_it_is_back(collector):
    good = collector.data_dir / "good"
    assert httpx.get(f"{collector.url}/i", params={"e": "pv", "p": "web"}).status_code == 200
    for path in good.iterdir():
        path.unlink()
    good.rmdir()
    good.write_text("not a folder")  # the path exists but no file can be created in it

    response = httpx.get(f"{collector.url}/i", params={"e": "pv", "p": "web", "tv": "after-fault"})
    assert response.status_code == 503
    assert "retry-after" in response.headers
    assert httpx.get(f"{collector.url}/sink-health").status_code == 503

    good.unlink()
    assert httpx.get(f"{collector.url}/sink-health").status_code == 503, "a vanished folder is not silently remade"
    good.mkdir()
    assert httpx.get(f"{collector.url}/sink-health").status_code == 200
    retried = httpx.get(f"{collector.url}/i", params={"e": "pv", "p": "web", "tv": "retried"})
    assert retried.status_code == 200
    assert [event["v_tracker"] for event in collector.good()] == ["retried"]


def test_stalled_sink_sheds_load_with_503_and_bounded_memory(collector_factory, tmp_path):
    switch = tmp_path / "fault"
    collector = collector_factory(env={"COLLECTOR_FAULT_SWITCH": str(switch), "COLLECTOR_INFLIGHT_MAX_RECORDS": "400"})
    switch.write_text("stall")
    load = Load(collector.url, senders=48, batch_size=10).start()
    load.wait_for(lambda: load.statuses[503] >= 200, what="503s once the in-flight bound is reached")
    peak = max(rss_mb(collector.process.pid) for _ in range(20))
    assert httpx.get(f"{collector.url}/sink-health").status_code == 503
    assert load.statuses[200] == 0, "nothing can be acknowledged while the sink is stalled"

    switch.write_text("")
    load.wait_for(lambda: load.statuses[200] >= 100, what="200s after the stall")
    load.stop()
    assert peak < 150, f"resident memory {peak:.0f} MB while stalled"
    assert_acknowledged_stored(load, collector.good())


def test_sigterm_during_load_stores_everything_acknowledged_and_exits_0(collector_factory):
    collector = collector_factory(env={"COLLECTOR_DRAIN_SECONDS": "1"})
    load = Load(collector.url, senders=4).start()
    load.wait_for(lambda: len(load.acknowledged) >= 300, what="traffic flowing")
    started = time.monotonic()
    collector.process.send_signal(signal.SIGTERM)
    load.wait_for(lambda: not_ready(collector.url), what="not ready")
    code = collector.process.wait(15)
    elapsed = time.monotonic() - started
    load.stop()
    assert code == 0
    assert elapsed < 1 + 5
    assert not list((collector.data_dir / "good").glob("*.part")), "shutdown left a file unsealed"
    assert_acknowledged_stored(load, collector.good())


def test_ctrl_c_skips_the_drain_and_still_stores_everything_acknowledged(collector_factory):
    # A drain far longer than the wait below: if Ctrl-C waited for it, the wait would time out.
    collector = collector_factory(env={"COLLECTOR_DRAIN_SECONDS": "600"})
    load = Load(collector.url, senders=4).start()
    load.wait_for(lambda: len(load.acknowledged) >= 300, what="traffic flowing")
    collector.process.send_signal(signal.SIGINT)
    code = collector.process.wait(30)
    load.stop()
    assert code == 0, collector.log()
    assert "Traceback" not in collector.log()
    assert not list((collector.data_dir / "good").glob("*.part")), "shutdown left a file unsealed"
    assert_acknowledged_stored(load, collector.good())


def test_several_workers_share_the_output_folder(collector_factory):
    collector = collector_factory(args=["--workers", "2"])
    load = Load(collector.url, senders=4).start()
    load.wait_for(lambda: len(load.acknowledged) >= 400, what="traffic flowing")
    load.stop()
    assert_acknowledged_stored(load, collector.good())
    assert collector.stop() == 0
    sealed = list((collector.data_dir / "good").glob("*.jsonl"))
    assert sealed and not list((collector.data_dir / "good").glob("*.part"))
