"""The batcher: group commit across requests, all-or-nothing acknowledgement, the in-flight bound."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from app.batching import Batcher, Overloaded, SinkUnavailable
from app.metrics import Metrics
from app.sinks.base import Record

WAIT_S = 5  # an upper bound for a blocked thread, never a delay the tests rely on


class FakeSink:
    """Records each non-empty write; can fail, and can hold a write until its gate opens.
    Like a real sink, it refuses writes once closed."""

    name = "fake"

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate = gate
        self.writing = threading.Event()  # set once a write has started
        self.failing = False
        self.writes: list[list[bytes]] = []
        self.closed = False
        self.ticked = threading.Event()
        self.ticks = 0

    def write(self, records: list[Record]) -> None:
        if not records:
            return
        if self.closed:
            raise OSError("write after close")
        self.writing.set()
        if self.gate is not None:
            self.gate.wait(WAIT_S)
        if self.failing:
            raise OSError("disk full")
        self.writes.append([record.data for record in records])

    def healthy(self) -> bool:
        return not self.failing

    def tick(self) -> None:
        self.ticks += 1
        self.ticked.set()

    def close(self) -> None:
        self.closed = True

    @property
    def stored(self) -> list[bytes]:
        return [record for batch in self.writes for record in batch]


def as_records(lines: list[bytes]) -> list[Record]:
    return [Record(line, line.decode(), "key") for line in lines]


def store(batcher: Batcher, good: list[bytes], bad: list[bytes]):
    """A request's good and bad lines, handed to the batcher as records."""
    return batcher.store(as_records(good), as_records(bad))


def batcher_for(good: FakeSink, bad: FakeSink, **limits) -> Batcher:
    settings = dict(
        max_records=1000, max_bytes=1 << 20, max_wait_s=0, inflight_max_records=100_000, inflight_max_bytes=1 << 26
    )
    return Batcher(good, bad, metrics=Metrics(), **{**settings, **limits})


async def queued_behind_a_held_write(batcher: Batcher, sink: FakeSink, requests: list[tuple[list[bytes], list[bytes]]]):
    """Start the first request, wait until its write is held at the sink's gate, then queue the rest."""
    first = asyncio.create_task(store(batcher, *requests[0]))
    await asyncio.to_thread(sink.writing.wait, WAIT_S)
    rest = [asyncio.create_task(store(batcher, *request)) for request in requests[1:]]
    await asyncio.sleep(0)  # one turn of the loop: each new task runs up to its wait for storage
    queued = sum(len(good) + len(bad) for good, bad in requests)
    assert batcher.inflight_records == queued, "every request should be waiting now"
    return [first, *rest]


async def settle() -> None:
    """Turns of the event loop, no clock: enough for the writer to wake and reach its next wait."""
    for _ in range(20):
        await asyncio.sleep(0)


def requests_of(count: int) -> list[tuple[list[bytes], list[bytes]]]:
    return [([b"good-%03d" % n], [b"bad-%03d" % n] if n % 3 == 0 else []) for n in range(count)]


def test_group_commit_writes_fewer_batches_than_requests_every_record_once_in_order():
    requests = requests_of(30)

    async def scenario():
        gate = threading.Event()
        good, bad = FakeSink(gate), FakeSink()
        batcher = batcher_for(good, bad)
        batcher.start()
        tasks = await queued_behind_a_held_write(batcher, good, requests)
        gate.set()
        await asyncio.gather(*tasks)
        await batcher.close()
        return good, bad

    good, bad = asyncio.run(scenario())
    assert len(good.writes) == 2  # the held one, then all 29 that queued behind it
    assert good.stored == [record for g, _ in requests for record in g]
    assert bad.stored == [record for _, b in requests for record in b]


def test_a_batch_stops_at_max_records_without_splitting_a_request():
    requests = [
        ([b"a"], []),
        ([b"b1", b"b2", b"b3"], []),
        ([b"c"], []),
        ([b"d1", b"d2"], []),
        ([b"e1", b"e2", b"e3"], []),
    ]

    async def scenario():
        gate = threading.Event()
        good = FakeSink(gate)
        batcher = batcher_for(good, FakeSink(), max_records=4)
        batcher.start()
        tasks = await queued_behind_a_held_write(batcher, good, requests)
        gate.set()
        await asyncio.gather(*tasks)
        await batcher.close()
        return good

    good = asyncio.run(scenario())
    # b + c make exactly 4; d + e would make 5.
    assert good.writes == [[b"a"], [b"b1", b"b2", b"b3", b"c"], [b"d1", b"d2"], [b"e1", b"e2", b"e3"]]


def test_a_batch_stops_at_max_bytes_without_splitting_a_request():
    requests = [([b"a" * 4], []), ([b"b" * 3], [b"B" * 3]), ([b"c" * 4], []), ([b"d" * 6], []), ([b"e" * 11], [])]

    async def scenario():
        gate = threading.Event()
        good, bad = FakeSink(gate), FakeSink()
        batcher = batcher_for(good, bad, max_bytes=10)
        batcher.start()
        tasks = await queued_behind_a_held_write(batcher, good, requests)
        gate.set()
        await asyncio.gather(*tasks)
        await batcher.close()
        return good, bad

    good, bad = asyncio.run(scenario())
    # b (6 bytes, good and bad together) + c (4) make exactly 10; d (6) would pass it; e alone is over.
    assert good.writes == [[b"aaaa"], [b"bbb", b"cccc"], [b"dddddd"], [b"e" * 11]]
    assert bad.writes == [[b"BBB"]]


@pytest.mark.parametrize(
    ("limits", "requests"),
    [
        ({"max_records": 3}, [([b"1"], []), ([b"2"], [b"3"])]),
        ({"max_bytes": 6}, [([b"abc"], []), ([b"def"], [])]),
    ],
    ids=["records", "bytes"],
)
def test_a_full_batch_is_written_at_once_not_after_the_wait(limits, requests):
    async def scenario():
        good = FakeSink()
        batcher = batcher_for(good, FakeSink(), max_wait_s=3600, **limits)
        batcher.start()
        tasks = [asyncio.create_task(store(batcher, *request)) for request in requests]
        await asyncio.wait_for(asyncio.gather(*tasks), WAIT_S)  # an hour's wait would fail here
        await batcher.close()
        return good

    assert asyncio.run(scenario()).writes == [[record for good, _ in requests for record in good]]


@pytest.mark.parametrize("limits", [{"max_records": 4}, {"max_bytes": 4}], ids=["records", "bytes"])
def test_requests_arriving_during_the_wait_join_one_batch(limits):
    async def scenario():
        good = FakeSink()
        batcher = batcher_for(good, FakeSink(), max_wait_s=3600, **limits)
        batcher.start()
        tasks = []
        for n in (1, 2, 3, 4):
            tasks.append(asyncio.create_task(store(batcher, [b"%d" % n], [])))
            await settle()  # the writer has seen this request and waits for more
        await asyncio.wait_for(asyncio.gather(*tasks), WAIT_S)
        await batcher.close()
        return good

    assert asyncio.run(scenario()).writes == [[b"1", b"2", b"3", b"4"]]


@pytest.mark.parametrize("limits", [{"max_records": 2}, {"max_bytes": 4}], ids=["records", "bytes"])
def test_a_queue_still_full_after_a_batch_is_written_at_once(limits):
    async def scenario():
        gate = threading.Event()
        good = FakeSink(gate)
        batcher = batcher_for(good, FakeSink(), max_wait_s=3600, **limits)
        batcher.start()
        requests = [([b"a1", b"a2"], []), ([b"b1", b"b2"], []), ([b"c1", b"c2"], [])]
        tasks = await queued_behind_a_held_write(batcher, good, requests)  # a full request goes at once
        gate.set()
        await asyncio.wait_for(asyncio.gather(*tasks), WAIT_S)  # c waits for nothing: it is a full batch
        await batcher.close()
        return good

    assert asyncio.run(scenario()).writes == [[b"a1", b"a2"], [b"b1", b"b2"], [b"c1", b"c2"]]


def test_close_does_not_wait_out_the_batch_wait():
    async def scenario():
        good = FakeSink()
        batcher = batcher_for(good, FakeSink(), max_wait_s=3600)
        batcher.start()
        pending = asyncio.create_task(store(batcher, [b"last"], []))
        await settle()  # the writer has taken the request and waits for the batch to fill
        await asyncio.wait_for(batcher.close(), WAIT_S)
        await pending
        return good

    assert asyncio.run(scenario()).writes == [[b"last"]]


async def fail_then_recover(failing: str, requests, repeat_interval_s: float | None = None):
    """A held write and the batch queued behind it both fail; then the sink recovers and a last request is stored."""
    gate = threading.Event()
    sinks = {"good": FakeSink(gate), "bad": FakeSink()}
    sinks[failing].failing = True
    batcher = batcher_for(sinks["good"], sinks["bad"])
    if repeat_interval_s is not None:
        batcher._write_failed.interval_s = repeat_interval_s
    batcher.start()
    tasks = await queued_behind_a_held_write(batcher, sinks["good"], requests)
    gate.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    sinks[failing].failing = False  # the sink recovers: the next request is stored
    await store(batcher, [b"after"], [b"after-bad"])
    await batcher.close()
    return outcomes, sinks


@pytest.mark.parametrize("failing", ["good", "bad"])
def test_a_failing_sink_fails_every_request_of_the_batch(failing, caplog):
    requests = requests_of(12)

    async def scenario():
        return await fail_then_recover(failing, requests, repeat_interval_s=0)  # every failure gets its line

    outcomes, sinks = asyncio.run(scenario())
    assert [type(outcome) for outcome in outcomes] == [SinkUnavailable] * len(requests)
    assert "disk full" in str(outcomes[0])
    assert "sink write failed for 14 records: disk full" in caplog.text  # the queued batch: 11 good + 3 bad
    assert sinks["good"].writes[-1] == [b"after"] and sinks["bad"].writes[-1] == [b"after-bad"]


def test_repeated_write_failures_log_one_line_a_minute_and_the_recovery(caplog):
    caplog.set_level(logging.INFO, "app.batching")
    asyncio.run(fail_then_recover("good", requests_of(12)))
    assert "sink write failed for 2 records: disk full" in caplog.text  # the first failure at once
    assert "sink write failed for 14 records" not in caplog.text  # the next, within the minute, left out
    assert "sink writes succeed again" in caplog.text


@pytest.mark.parametrize(
    ("limits", "held", "extra"),
    [
        ({"inflight_max_records": 5}, [([b"1", b"2", b"3"], []), ([b"4"], [b"5"])], ([b"6"], [])),
        ({"inflight_max_bytes": 1024}, [([b"x" * 1000], [])], ([b"y" * 100], [])),
        ({"inflight_max_bytes": 1024}, [([b"x" * 500], [b"X" * 500])], ([b"y" * 100], [])),
    ],
    ids=["records", "bytes", "bytes-of-bad-rows-count-too"],
)
def test_past_the_in_flight_bound_store_is_refused_at_once(limits, held, extra):
    async def scenario():
        gate = threading.Event()
        good = FakeSink(gate)
        batcher = batcher_for(good, FakeSink(), **limits)
        batcher.start()
        tasks = await queued_behind_a_held_write(batcher, good, held)
        try:
            with pytest.raises(Overloaded):
                await asyncio.wait_for(store(batcher, *extra), WAIT_S)  # raised, not waited for
        finally:
            gate.set()
        await asyncio.gather(*tasks)
        await store(batcher, *extra)  # room again once the held records are stored
        await batcher.close()
        return good

    good = asyncio.run(scenario())
    assert good.stored == [record for g, _ in held for record in g] + extra[0]


def test_a_single_request_larger_than_the_bound_is_still_taken_when_nothing_waits():
    async def scenario():
        good = FakeSink()
        batcher = batcher_for(good, FakeSink(), inflight_max_records=2)
        batcher.start()
        await store(batcher, [b"1", b"2", b"3"], [])
        await batcher.close()
        return good

    assert asyncio.run(scenario()).stored == [b"1", b"2", b"3"]


def test_close_stores_everything_pending_then_closes_the_sinks():
    requests = requests_of(10)

    async def scenario():
        gate = threading.Event()
        good, bad = FakeSink(gate), FakeSink()
        batcher = batcher_for(good, bad)
        batcher.start()
        tasks = await queued_behind_a_held_write(batcher, good, requests)
        closing = asyncio.create_task(batcher.close())
        await asyncio.sleep(0)
        with pytest.raises(SinkUnavailable, match="^shutting down$"):  # nothing new once closing
            await store(batcher, [b"late"], [])
        gate.set()
        await closing
        await asyncio.gather(*tasks)
        return good, bad

    good, bad = asyncio.run(scenario())
    assert good.stored == [record for g, _ in requests for record in g]
    assert bad.stored == [record for _, b in requests for record in b]
    assert good.closed and bad.closed


def test_empty_store_returns_at_once_and_writes_nothing():
    async def scenario():
        good = FakeSink()
        batcher = batcher_for(good, FakeSink())
        batcher.start()
        await asyncio.wait_for(store(batcher, [], []), WAIT_S)
        await batcher.close()
        return good, batcher

    good, batcher = asyncio.run(scenario())
    assert good.writes == []
    assert batcher.metrics.registry.get_sample_value("collector_batch_records_count") == 0  # not even an empty batch


def test_a_batcher_closed_before_it_started_closes_its_sinks():
    async def scenario():
        good, bad = FakeSink(), FakeSink()
        await batcher_for(good, bad).close()
        return good, bad

    good, bad = asyncio.run(scenario())
    assert good.closed and bad.closed


@pytest.mark.parametrize(
    ("limits", "held", "extra"),
    [
        ({"inflight_max_records": 4}, [([b"1", b"2"], [b"3"])], ([b"4"], [])),
        ({"inflight_max_bytes": 1024}, [([b"x" * 500], [b"X" * 500])], ([b"y" * 24], [])),
    ],
    ids=["records", "bytes"],
)
def test_up_to_the_in_flight_bound_store_is_taken(limits, held, extra):
    async def scenario():
        gate = threading.Event()
        good = FakeSink(gate)
        batcher = batcher_for(good, FakeSink(), **limits)
        batcher.start()
        tasks = await queued_behind_a_held_write(batcher, good, [*held, extra])  # raises Overloaded if refused
        gate.set()
        await asyncio.gather(*tasks)
        await batcher.close()
        return good

    assert asyncio.run(scenario()).stored[-1] == extra[0][0]


def test_a_cancelled_request_leaves_the_rest_of_its_batch_and_the_batcher_working():
    async def scenario():
        gate = threading.Event()
        good = FakeSink(gate)
        batcher = batcher_for(good, FakeSink())
        batcher.start()
        held, gone, waiting = await queued_behind_a_held_write(
            batcher, good, [([b"a"], []), ([b"b"], []), ([b"c"], [])]
        )
        gone.cancel()  # the client hung up: its request stops waiting, the batch does not
        gate.set()
        await asyncio.wait_for(asyncio.gather(held, waiting), WAIT_S)
        await asyncio.wait_for(store(batcher, [b"after"], []), WAIT_S)
        await batcher.close()
        return good, gone, batcher

    good, gone, batcher = asyncio.run(scenario())
    assert gone.cancelled()
    assert good.stored == [b"a", b"b", b"c", b"after"]  # b was accepted before its client left
    assert batcher.inflight_records == 0


def test_sinks_are_ticked_while_idle(monkeypatch):
    """Housekeeping (rotation by age) runs on the interval even when no request comes."""
    monkeypatch.setattr("app.batching.TICK_INTERVAL_S", 0.01)

    async def scenario():
        good, bad = FakeSink(), FakeSink()
        batcher = batcher_for(good, bad)
        batcher.start()
        ticked = [await asyncio.to_thread(sink.ticked.wait, WAIT_S) for sink in (good, bad)]
        await batcher.close()
        return ticked

    assert asyncio.run(scenario()) == [True, True]


class FakeClock:
    """Stands in for the batcher's `time` module: monotonic time moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self.reads = 0

    def monotonic(self) -> float:
        self.reads += 1
        return self.now

    def perf_counter(self) -> float:
        return self.now


def test_sinks_are_ticked_once_per_interval_while_busy(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr("app.batching.time", clock)

    async def scenario():
        good, bad = FakeSink(), FakeSink()
        batcher = batcher_for(good, bad)
        batcher.start()
        await settle()  # the writer starts at 0
        ticks = []
        for now in (0.5, 0.9, 1.0, 1.2, 1.9, 2.0, 2.5):
            clock.now = now
            await asyncio.wait_for(store(batcher, [b"%.1f" % now], []), WAIT_S)  # each store wakes the writer
            ticks.append(good.ticks)
        await batcher.close()
        return ticks, bad.ticks

    ticks, bad_ticks = asyncio.run(scenario())
    assert ticks == [0, 0, 1, 1, 1, 2, 2]
    assert bad_ticks == 2


class RecordingMetrics(Metrics):
    """Metrics that also keep what the batcher reports of its in-flight counts."""

    def __init__(self) -> None:
        super().__init__()
        self.reported: list[tuple[int, int]] = []

    def inflight(self, records: int, size: int) -> None:
        self.reported.append((records, size))
        super().inflight(records, size)


def test_batches_and_in_flight_counts_are_reported_to_metrics(monkeypatch):
    clock = FakeClock()
    clock.now = 5.0  # no time passes during a write: every write takes 0 s
    monkeypatch.setattr("app.batching.time", clock)

    async def scenario():
        gate = threading.Event()
        good = FakeSink(gate)
        metrics = RecordingMetrics()
        batcher = Batcher(
            good,
            FakeSink(),
            metrics=metrics,
            max_records=1000,
            max_bytes=1 << 20,
            max_wait_s=0,
            inflight_max_records=1000,
            inflight_max_bytes=1 << 20,
        )
        batcher.start()
        tasks = await queued_behind_a_held_write(batcher, good, [([b"ab"], []), ([b"cd"], [b"efg"])])
        assert metrics.registry.get_sample_value("collector_inflight_records") == 3
        assert metrics.registry.get_sample_value("collector_inflight_bytes") == 7
        gate.set()
        await asyncio.gather(*tasks)
        await batcher.close()
        return metrics

    metrics = asyncio.run(scenario())
    assert metrics.reported[:2] == [(1, 2), (3, 7)]
    assert metrics.reported[-1] == (0, 0)
    assert metrics.registry.get_sample_value("collector_batch_records_count") == 2
    assert metrics.registry.get_sample_value("collector_batch_records_sum") == 3
    assert metrics.registry.get_sample_value("collector_batch_write_seconds_count") == 2
    assert metrics.registry.get_sample_value("collector_batch_write_seconds_sum") == 0
    # A write that succeeded says nothing of the sink (a spool takes writes while it is down): only
    # asking the sinks sets the gauge (test_healthy_follows_the_sinks_and_closing).
    assert metrics.registry.get_sample_value("collector_sink_healthy") == 0


def test_healthy_follows_the_sinks_and_closing():
    async def scenario():
        good, bad = FakeSink(), FakeSink()
        batcher = batcher_for(good, bad)
        batcher.start()
        seen = [batcher.healthy()]
        bad.failing = True
        seen.append(batcher.healthy())
        assert batcher.metrics.registry.get_sample_value("collector_sink_healthy") == 0
        bad.failing = False
        seen.append(batcher.healthy())
        assert batcher.metrics.registry.get_sample_value("collector_sink_healthy") == 1
        batcher.mark_draining()  # shutting down: no new traffic, though still storing
        seen.append(batcher.healthy())
        await asyncio.wait_for(store(batcher, [b"during-drain"], []), WAIT_S)
        await batcher.close()
        seen.append(batcher.healthy())
        return seen, good

    seen, good = asyncio.run(scenario())
    assert seen == [True, False, True, False, False]
    assert good.stored == [b"during-drain"]


def test_an_idle_writer_waits_instead_of_spinning(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr("app.batching.time", clock)

    async def scenario():
        batcher = batcher_for(FakeSink(), FakeSink())
        batcher.start()
        await asyncio.wait_for(store(batcher, [b"one"], []), WAIT_S)
        await settle()
        reads = clock.reads
        await settle()  # nothing arrives: the writer must not go round its loop
        idle_reads = clock.reads - reads
        await batcher.close()
        return idle_reads

    assert asyncio.run(scenario()) == 0


@pytest.mark.parametrize(
    ("limits", "full", "small"),
    [({"max_records": 2}, [b"a", b"b"], [b"c"]), ({"max_bytes": 2}, [b"ab"], [b"c"])],
    ids=["records", "bytes"],
)
def test_after_a_full_batch_the_next_requests_wait_to_fill_again(limits, full, small):
    async def scenario():
        good = FakeSink()
        batcher = batcher_for(good, FakeSink(), max_wait_s=3600, **limits)
        batcher.start()
        await asyncio.wait_for(store(batcher, full, []), WAIT_S)  # full: written at once
        tasks = []
        for _ in range(2):
            tasks.append(asyncio.create_task(store(batcher, small, [])))
            await settle()
        await asyncio.wait_for(asyncio.gather(*tasks), WAIT_S)
        await batcher.close()
        return good

    assert asyncio.run(scenario()).writes == [full, small * 2]


def test_close_writes_every_pending_batch_without_waiting_for_them_to_fill():
    async def scenario():
        gate = threading.Event()
        good = FakeSink(gate)
        batcher = batcher_for(good, FakeSink(), max_wait_s=3600, max_records=3)
        batcher.start()
        requests = [([b"h1", b"h2", b"h3"], []), ([b"a1", b"a2"], []), ([b"b1", b"b2"], [])]
        tasks = await queued_behind_a_held_write(batcher, good, requests)
        closing = asyncio.create_task(batcher.close())
        await settle()
        gate.set()
        await asyncio.wait_for(closing, WAIT_S)
        await asyncio.gather(*tasks)
        return good

    assert asyncio.run(scenario()).writes == [[b"h1", b"h2", b"h3"], [b"a1", b"a2"], [b"b1", b"b2"]]


def test_a_batch_counts_bad_rows_toward_max_records():
    requests = [
        ([b"a"], []),
        ([b"b"], [b"B1", b"B2"]),
        ([b"c"], []),
        ([b"d"], [b"D"]),
        ([b"e1", b"e2", b"e3"], []),
    ]

    async def scenario():
        gate = threading.Event()
        good, bad = FakeSink(gate), FakeSink()
        batcher = batcher_for(good, bad, max_records=4)
        batcher.start()
        tasks = await queued_behind_a_held_write(batcher, good, requests)
        gate.set()
        await asyncio.gather(*tasks)
        await batcher.close()
        return good, bad

    good, bad = asyncio.run(scenario())
    assert good.writes == [[b"a"], [b"b", b"c"], [b"d"], [b"e1", b"e2", b"e3"]]  # b's 3 + c's 1 make 4
    assert bad.writes == [[b"B1", b"B2"], [b"D"]]


class FailingHousekeeping(FakeSink):
    def tick(self) -> None:
        super().tick()
        raise OSError("cannot rotate")


def test_failing_housekeeping_is_logged_and_the_writer_goes_on(monkeypatch, caplog):
    clock = FakeClock()
    monkeypatch.setattr("app.batching.time", clock)

    async def scenario():
        good = FailingHousekeeping()
        batcher = batcher_for(good, FakeSink())
        batcher.start()
        await settle()
        clock.now = 1.0
        await asyncio.wait_for(store(batcher, [b"after"], []), WAIT_S)
        await batcher.close()
        return good

    good = asyncio.run(scenario())
    assert good.ticks == 1 and good.stored == [b"after"]
    assert "sink housekeeping failed: cannot rotate" in caplog.text


def test_close_ends_the_sink_thread():
    before = set(threading.enumerate())

    async def scenario():
        batcher = batcher_for(FakeSink(), FakeSink())
        batcher.start()
        await store(batcher, [b"x"], [])
        await batcher.close()

    asyncio.run(scenario())
    assert [thread.name for thread in set(threading.enumerate()) - before if thread.name.startswith("sink")] == []
