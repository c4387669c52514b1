"""The batcher: group commit across requests, all-or-nothing acknowledgement, the in-flight bound."""

from __future__ import annotations

import asyncio
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
        ([b"c1", b"c2"], []),
        ([b"d"], []),
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
    assert good.writes == [[b"a"], [b"b1", b"b2", b"b3"], [b"c1", b"c2", b"d"], [b"e1", b"e2", b"e3"]]


@pytest.mark.parametrize("failing", ["good", "bad"])
def test_a_failing_sink_fails_every_request_of_the_batch(failing):
    requests = requests_of(12)

    async def scenario():
        gate = threading.Event()
        sinks = {"good": FakeSink(gate), "bad": FakeSink()}
        sinks[failing].failing = True
        batcher = batcher_for(sinks["good"], sinks["bad"])
        batcher.start()
        tasks = await queued_behind_a_held_write(batcher, sinks["good"], requests)
        gate.set()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        sinks[failing].failing = False  # the sink recovers: the next request is stored
        await store(batcher, [b"after"], [b"after-bad"])
        await batcher.close()
        return outcomes, sinks

    outcomes, sinks = asyncio.run(scenario())
    assert [type(outcome) for outcome in outcomes] == [SinkUnavailable] * len(requests)
    assert "disk full" in str(outcomes[0])
    assert sinks["good"].writes[-1] == [b"after"] and sinks["bad"].writes[-1] == [b"after-bad"]


@pytest.mark.parametrize(
    ("limits", "held", "extra"),
    [
        ({"inflight_max_records": 5}, [([b"1", b"2", b"3"], []), ([b"4"], [b"5"])], ([b"6"], [])),
        ({"inflight_max_bytes": 1024}, [([b"x" * 1000], [])], ([b"y" * 100], [])),
    ],
    ids=["records", "bytes"],
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
        with pytest.raises(SinkUnavailable):  # nothing new once closing
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
        return good

    assert asyncio.run(scenario()).writes == []


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


def test_healthy_follows_the_sinks_and_closing():
    async def scenario():
        good, bad = FakeSink(), FakeSink()
        batcher = batcher_for(good, bad)
        batcher.start()
        seen = [batcher.healthy()]
        bad.failing = True
        seen.append(batcher.healthy())
        bad.failing = False
        seen.append(batcher.healthy())
        batcher.mark_draining()  # shutting down: no new traffic, though still storing
        seen.append(batcher.healthy())
        await asyncio.wait_for(store(batcher, [b"during-drain"], []), WAIT_S)
        await batcher.close()
        seen.append(batcher.healthy())
        return seen, good

    seen, good = asyncio.run(scenario())
    assert seen == [True, False, True, False, False]
    assert good.stored == [b"during-drain"]
