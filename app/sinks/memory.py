"""Records kept in the process: the output of `python -m app micro`, and of the in-process tests.

Under `python -m app micro` the events are held, decoded, by the Micro store (app/micro/store.py),
which the tracking routes fill beside the batcher once a batch is acknowledged; the encoded lines
are not needed again, so the sink built from settings keeps none of them. A test builds one that
keeps every record (`keep=None`) to read back what was written, and can make it fail on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from app.sinks.base import Record


@dataclass(frozen=True, slots=True)
class MemorySettings:
    """The memory sink has no settings of its own: the Micro store's size is `micro_events`."""


def build(settings: MemorySettings, output: str) -> MemorySink:
    return MemorySink(keep=0)  # the Micro store holds the events; the lines would only grow


class MemorySink:
    name = "memory"

    def __init__(self, keep: int | None = None) -> None:
        self.keep = keep  # the last `keep` records are held; None: all of them
        self.records: list[Record] = []
        self.failing = False  # writes fail, as in a broker outage, while this is set

    def write(self, records: list[Record]) -> None:
        if self.failing:
            raise OSError("memory sink failing on purpose")
        self.records.extend(records)
        if self.keep is not None and len(self.records) > self.keep:
            del self.records[: len(self.records) - self.keep]

    def healthy(self) -> bool:
        return not self.failing

    def max_record_bytes(self) -> int | None:
        return None  # no message limit in memory

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass

    def lines(self) -> list[dict[str, Any]]:
        """The records held, decoded (for JSON output)."""
        return [orjson.loads(record.data) for record in self.records]
