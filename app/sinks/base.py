"""The sink interface: small on purpose. Batching, bounds and acknowledgement live in the batcher."""

from __future__ import annotations

from typing import Protocol


class Sink(Protocol):
    name: str

    def write(self, records: list[bytes]) -> None:
        """Store every record durably, or raise. Blocking; the batcher calls it off the event loop."""

    def healthy(self) -> bool:
        """Whether a write now would be expected to succeed."""

    def tick(self) -> None:
        """Housekeeping when idle, e.g. rotating an old file."""

    def close(self) -> None:
        """Flush and release everything; no write follows."""
