"""A local spool in front of a remote sink: when the broker is away, batches wait on disk.

A batch the remote sink cannot take is written to its own file in the spool folder and
fsynced; then it counts as stored and its requests get their 200. A sender thread forwards
spooled batches oldest first once the sink is back, deleting each after it is acknowledged.
While anything is spooled, new batches queue behind it, so what was acknowledged reaches the
broker in the order it was acknowledged. Past the size bound the spool refuses (503).

Each process spools into a folder of its own, holding a lock on it; at start a process adopts
the batches of folders whose owner died, numbered after any its own folder still holds (a
reused process id), so that no batch is ever overwritten.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from app.logs import Throttled
from app.sinks.base import Record, Refused, Sink
from app.sinks.disk import fsync_dir, write_all

log = logging.getLogger(__name__)
BATCH = ".batch"
FAILED = ".failed"
MAX_BACKOFF_S = 5.0
CLOSE_WAIT_S = 30.0


def read_batch(path: Path) -> list[Record]:
    """The records of a spooled batch (`.batch` or `.failed`); OSError or ValueError if it is not whole."""
    return [
        Record(data.encode(), record_id, key)
        for record_id, key, data in map(orjson.loads, path.read_bytes().splitlines())
    ]


# (output, bytes, batches, age of the oldest batch in seconds, .failed batches): for the metrics
Report = Callable[[str, int, int, float, int], None]


class Spool:
    def __init__(self, inner: Sink, directory: Path, max_bytes: int, report: Report | None = None) -> None:
        self.inner = inner
        self.directory = directory
        self.report = report
        self.name = inner.name
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self.folder = directory / f"{os.getpid()}"
        self.folder.mkdir(exist_ok=True)
        self._lock_fd = os.open(self.folder / ".lock", os.O_WRONLY | os.O_CREAT, 0o644)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._guard = threading.Condition()
        for temporary in self.folder.glob("*.tmp"):  # a batch whose write never finished was never acknowledged
            temporary.unlink()
        # A reused process id finds batches of an earlier process here: number on after them.
        self._sequence = max((int(path.stem) for path in self.folder.glob(f"*{BATCH}")), default=0)
        self._adopt_orphans(directory)
        self._spooled = sorted(self.folder.glob(f"*{BATCH}"))
        self._bytes = sum(path.stat().st_size for path in self._spooled)
        self._closing = False
        self._spooling = Throttled(log)  # a line per batch or per retry would flood the log in an outage
        self._waiting = Throttled(log)
        self._sender = threading.Thread(target=self._send_spooled, name=f"spool-{self.name}", daemon=True)
        self._sender.start()

    def _adopt_orphans(self, directory: Path) -> None:
        for folder in sorted(path for path in directory.iterdir() if path.is_dir() and path != self.folder):
            fd = os.open(folder / ".lock", os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue  # a live process owns it
            try:  # held until every batch is moved, so two starting workers never adopt the same one
                for path in sorted(folder.glob(f"*{BATCH}")):
                    path.rename(self._next_path())
                fsync_dir(self.folder)
                log.info("spool adopted the batches left in %s", folder.name)
            finally:
                os.close(fd)

    def _next_path(self) -> Path:
        self._sequence += 1
        return self.folder / f"{self._sequence:012d}{BATCH}"

    def write(self, records: list[Record]) -> None:
        if not records:
            return
        with self._guard:
            if not self._spooled:
                try:
                    self.inner.write(records)
                    return
                except Exception as error:
                    self._spooling(logging.WARNING, "%s sink unavailable, spooling: %s", self.name, error)
            self._append(records)
            self._guard.notify()

    def _append(self, records: list[Record]) -> None:
        data = b"".join(orjson.dumps([record.id, record.key, record.data.decode()]) + b"\n" for record in records)
        if self._bytes + len(data) > self.max_bytes:
            raise OSError(f"spool full: {self._bytes} bytes waiting for the {self.name} sink")
        path = self._next_path()
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        temporary.rename(path)
        fsync_dir(self.folder)
        self._spooled.append(path)
        self._bytes += len(data)

    def _send_spooled(self) -> None:
        backoff = 0.1
        while True:
            with self._guard:
                while not self._spooled and not self._closing:
                    self._guard.wait()
                if self._closing:
                    return
                oldest = self._spooled[0]
            try:
                records = read_batch(oldest)
            except (OSError, ValueError) as error:  # never written whole: set aside, not retried forever
                log.error("spooled batch %s unreadable, kept as %s: %s", oldest.name, FAILED, error)
                self._done_with(oldest, oldest.with_suffix(FAILED))
                continue
            try:
                self.inner.write(records)
            except Refused as error:  # kept on disk for an operator, not retried forever
                log.error("the %s sink refuses spooled batch %s, kept as %s: %s", self.name, oldest.name, FAILED, error)
                self._done_with(oldest, oldest.with_suffix(FAILED))
                continue
            except Exception as error:
                self._waiting(logging.INFO, "spool waits for the %s sink: %s", self.name, error)
                with self._guard:
                    self._guard.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            backoff = 0.1
            self._done_with(oldest)
            if self._waiting.clear() | self._spooling.clear():
                log.info("the %s sink takes batches again; sending what was spooled", self.name)

    def _done_with(self, batch: Path, keep_as: Path | None = None) -> None:
        with self._guard:
            size = batch.stat().st_size
            if keep_as is None:
                batch.unlink()
            else:
                batch.rename(keep_as)
            self._spooled.pop(0)
            self._bytes -= size

    def healthy(self) -> bool:
        return self.inner.healthy()  # readiness reports the broker; the spool still accepts meanwhile

    def max_record_bytes(self) -> int | None:
        return self.inner.max_record_bytes()

    def tick(self) -> None:
        self.inner.tick()
        if self.report is not None:
            self.report(self.directory.name, *self.stats())

    def stats(self) -> tuple[int, int, float, int]:
        """(bytes, batches, age of the oldest in seconds, .failed batches in any folder of this spool)."""
        with self._guard:
            size, batches, oldest = self._bytes, len(self._spooled), self._spooled[0] if self._spooled else None
        try:
            age = max(0.0, time.time() - oldest.stat().st_mtime) if oldest is not None else 0.0
        except OSError:  # sent and deleted meanwhile
            age = 0.0
        return size, batches, age, sum(1 for _ in self.directory.glob(f"*/*{FAILED}"))

    def close(self) -> None:
        with self._guard:
            self._closing = True
            self._guard.notify_all()
        self._sender.join(CLOSE_WAIT_S)
        if self._sender.is_alive():  # still inside a send: closing the sink under it would break it
            log.warning("spool sender still sending at close; the %s sink is left open", self.name)
        else:
            self.inner.close()
        if self._spooled:
            log.warning("%d spooled batches left for the next start", len(self._spooled))
        os.close(self._lock_fd)
