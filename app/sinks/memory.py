"""The output of `python -m app micro`: nothing leaves the process.

The events are held, decoded, by the Micro store (app/micro/store.py), which the tracking
routes fill beside the batcher once a batch is acknowledged; the encoded lines are not needed
again, so this sink accepts them and keeps nothing.
"""

from __future__ import annotations

from app.sinks.base import Record


class MemorySink:
    name = "memory"

    def write(self, records: list[Record]) -> None:
        pass

    def healthy(self) -> bool:
        return True

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass
