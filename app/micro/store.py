"""The last N records in memory, oldest dropped first: what the Micro API and the inspector read
(docs/behaviour.md#snowplow-micro-api).

Only the event loop touches the store (records are added once the batcher acknowledged them,
and the API's handlers are coroutines), so it needs no lock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from app.pipeline import Observed


@dataclass(slots=True)
class Entry:
    seq: int  # 1, 2, 3... in arrival order, never reused, not even after a reset
    seen: Observed
    views: dict[str, Any] = field(default_factory=dict)  # the API's shapes of it, built on first use

    @property
    def valid(self) -> bool:
        return self.seen.bad_row is None

    @property
    def received_ms(self) -> int:
        return self.seen.request.received_ms


class MicroStore:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: deque[Entry] = deque()
        self._last_seq = 0
        self.good = 0
        self.bad = 0
        self.resets = 0  # lets a live view tell "nothing new" from "emptied"

    def add(self, observed: list[Observed]) -> None:
        for seen in observed:
            if len(self._entries) == self.capacity:
                self._count(self._entries.popleft(), -1)
            self._last_seq += 1
            entry = Entry(self._last_seq, seen)
            self._entries.append(entry)
            self._count(entry, 1)

    def _count(self, entry: Entry, step: int) -> None:
        if entry.valid:
            self.good += step
        else:
            self.bad += step

    def reset(self) -> None:
        self._entries.clear()
        self.good = self.bad = 0
        self.resets += 1

    def summary(self) -> dict[str, int]:
        return {"total": self.good + self.bad, "good": self.good, "bad": self.bad}

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def newest_first(self) -> list[Entry]:
        """A snapshot, newest first, as Micro lists events."""
        return list(reversed(self._entries))

    def find(self, seq: int) -> Entry | None:
        if not self._entries or seq < self._entries[0].seq:
            return None
        index = seq - self._entries[0].seq  # the seqs held are contiguous: direct indexing
        return self._entries[index] if index < len(self._entries) else None
