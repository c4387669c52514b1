"""Group commit, the in-flight bound and acknowledgement: the only place that knows about them.

The contract: docs/behaviour.md#acknowledgement.

Requests hand their records to `store` and wait. One writer task gathers what is pending
into a batch (closed by a record count, a byte size or a short wait), writes it to the
sinks in one call each, and then releases every request in the batch together: with
success, or with `SinkUnavailable` if any write failed, so none is half-acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from app.logs import Throttled
from app.metrics import Metrics
from app.sinks.base import Record, Sink

log = logging.getLogger(__name__)
TICK_INTERVAL_S = 1.0


class Overloaded(Exception):
    """More records are waiting for storage than the configured bound: answer 503 now."""


class SinkUnavailable(Exception):
    """The sink did not store the batch: answer 503; the tracker will retry."""


@dataclass(slots=True)
class _Waiting:
    good: list[Record]
    bad: list[Record]
    size: int
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Batcher:
    def __init__(
        self,
        good: Sink,
        bad: Sink,
        *,
        max_records: int,
        max_bytes: int,
        max_wait_s: float,
        inflight_max_records: int,
        inflight_max_bytes: int,
        metrics: Metrics,
    ) -> None:
        self.good, self.bad = good, bad
        self.max_records, self.max_bytes, self.max_wait_s = max_records, max_bytes, max_wait_s
        self.inflight_max_records, self.inflight_max_bytes = inflight_max_records, inflight_max_bytes
        self.metrics = metrics
        self.inflight_records = 0
        self.inflight_bytes = 0
        metrics.follow_inflight(lambda: self.inflight_records, lambda: self.inflight_bytes)
        self._queue: deque[_Waiting] = deque()
        # Writes, housekeeping and close run on this one thread, in order; a busy shared thread
        # pool (health probes, registry lookups) cannot delay a group commit.
        self._sink_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sink")
        self._queued_records = 0
        self._queued_bytes = 0
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self._closing = False
        self._draining = False
        self._task: asyncio.Task[None] | None = None
        self._write_failed = Throttled(log)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="batcher")

    def mark_draining(self) -> None:
        """Shutting down: still storing, but no longer ready for new traffic."""
        self._draining = True

    def healthy(self) -> bool:
        good, bad = self.good.healthy(), self.bad.healthy()
        sinks_healthy = good and bad
        self.metrics.reachable(good, bad)
        self.metrics.sink_healthy.set(sinks_healthy)
        return sinks_healthy and not (self._draining or self._closing)

    async def store(self, good: list[Record], bad: list[Record]) -> None:
        """Return once every record is stored; raise Overloaded or SinkUnavailable otherwise."""
        count = len(good) + len(bad)
        if count == 0:
            return
        if self._closing:
            raise SinkUnavailable("shutting down")
        size = sum(len(record.data) for record in good) + sum(len(record.data) for record in bad)
        if self.inflight_records and (
            self.inflight_records + count > self.inflight_max_records
            or self.inflight_bytes + size > self.inflight_max_bytes
        ):
            raise Overloaded(f"{self.inflight_records} records ({self.inflight_bytes} bytes) waiting for storage")
        waiting = _Waiting(good, bad, size)
        self._count_inflight(count, size)
        self._queue.append(waiting)
        self._queued_records += count
        self._queued_bytes += size
        self._arrived.set()
        if self._queued_records >= self.max_records or self._queued_bytes >= self.max_bytes:
            self._full.set()
        try:
            await asyncio.shield(waiting.done)
        finally:
            self._count_inflight(-count, -size)

    def _count_inflight(self, records: int, size: int) -> None:
        self.inflight_records += records
        self.inflight_bytes += size
        self.metrics.inflight(self.inflight_records, self.inflight_bytes)

    async def _run(self) -> None:
        last_tick = time.monotonic()
        while True:
            if time.monotonic() - last_tick >= TICK_INTERVAL_S:  # busy or idle: files still rotate by age
                await self._on_sink_thread(self._tick)
                last_tick = time.monotonic()
            if not self._queue:
                if self._closing:
                    return
                try:
                    await asyncio.wait_for(self._arrived.wait(), TICK_INTERVAL_S)
                except TimeoutError:
                    pass
                continue
            if self.max_wait_s and not self._full.is_set() and not self._closing:
                try:  # let concurrent requests join this batch
                    await asyncio.wait_for(self._full.wait(), self.max_wait_s)
                except TimeoutError:
                    pass
            await self._write(self._take_batch())

    def _take_batch(self) -> list[_Waiting]:
        """Whole requests, oldest first, up to the batch limits (at least one request)."""
        batch: list[_Waiting] = []
        records = size = 0
        while self._queue:
            head = self._queue[0]
            count = len(head.good) + len(head.bad)
            if batch and (records + count > self.max_records or size + head.size > self.max_bytes):
                break
            batch.append(self._queue.popleft())
            records += count
            size += head.size
        self._queued_records -= records
        self._queued_bytes -= size
        if not self._queue:
            self._arrived.clear()
        if self._queued_records < self.max_records and self._queued_bytes < self.max_bytes:
            self._full.clear()
        return batch

    async def _write(self, batch: list[_Waiting]) -> None:
        good = [line for waiting in batch for line in waiting.good]
        bad = [line for waiting in batch for line in waiting.bad]
        started = time.perf_counter()
        try:
            await self._on_sink_thread(self._write_sinks, good, bad)
        except Exception as error:  # any sink failure releases the batch with 503, never a crash
            self._write_failed(logging.ERROR, "sink write failed for %d records: %s", len(good) + len(bad), error)
            outcome: BaseException | None = SinkUnavailable(str(error))
        else:
            outcome = None
            if self._write_failed.clear():
                log.info("sink writes succeed again")
            self.metrics.write_seconds.observe(time.perf_counter() - started)
            self.metrics.batch_records.observe(len(good) + len(bad))
        for waiting in batch:
            if outcome is None:
                waiting.done.set_result(None)
            else:
                waiting.done.set_exception(outcome)

    def _write_sinks(self, good: list[Record], bad: list[Record]) -> None:
        self.good.write(good)
        self.bad.write(bad)

    async def _on_sink_thread(self, work: Callable[..., None], *args: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(self._sink_thread, work, *args)

    def _tick(self) -> None:
        try:
            self.good.tick()
            self.bad.tick()
        except Exception as error:  # housekeeping must never stop the writer
            log.error("sink housekeeping failed: %s", error)

    async def close(self) -> None:
        """Store everything already accepted, then close the sinks."""
        self._closing = True
        self._arrived.set()
        self._full.set()  # a batch waiting to fill is written now, not after the wait
        if self._task is not None:
            await self._task
        await self._on_sink_thread(self._close_sinks)
        self._sink_thread.shutdown()

    def _close_sinks(self) -> None:
        self.good.close()
        self.bad.close()
