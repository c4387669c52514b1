"""A switchable fault in front of a real sink, for fault tests and drills (off unless configured).

When `COLLECTOR_FAULT_SWITCH` names a file, its content decides each write: `fail` raises,
`stall` blocks until the content changes, anything else (or no file) passes the write on.
Tests flip the switch from outside the process, while load is running.
"""

from __future__ import annotations

import time
from pathlib import Path

from app.sinks.base import Record, Sink

POLL_S = 0.05


class FaultSwitch:
    def __init__(self, inner: Sink, switch: Path) -> None:
        self.inner = inner
        self.switch = switch
        self.name = inner.name

    def _state(self) -> str:
        try:
            return self.switch.read_text().strip()
        except OSError:
            return ""

    def write(self, records: list[Record]) -> None:
        while self._state() == "stall":
            time.sleep(POLL_S)  # a stalled disk or broker: the batcher's thread waits here
        if self._state() == "fail":
            raise OSError(f"fault switch {self.switch} says fail")
        self.inner.write(records)

    def healthy(self) -> bool:
        return self._state() not in ("fail", "stall") and self.inner.healthy()

    def max_record_bytes(self) -> int | None:
        return self.inner.max_record_bytes()

    def tick(self) -> None:
        self.inner.tick()

    def close(self) -> None:
        self.inner.close()
