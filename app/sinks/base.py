"""The sink interface: small on purpose. Batching, bounds and acknowledgement live in the batcher."""

from __future__ import annotations

from typing import Protocol

from app.record import Record as Record  # what a sink writes; defined with the data it comes from


class Refused(OSError):
    """The receiver answered and will not take this batch, ever (an HTTP 4xx): retrying is futile."""


class Sink(Protocol):
    name: str

    def write(self, records: list[Record]) -> None:
        """Store every record durably, or raise. Blocking; the batcher calls it off the event loop."""

    def healthy(self) -> bool:
        """Whether a write now would be expected to succeed."""

    def max_record_bytes(self) -> int | None:
        """The largest record the destination takes (a broker's message limit), None for no limit."""

    def tick(self) -> None:
        """Housekeeping, about once a second whatever the traffic, e.g. rotating an old file."""

    def close(self) -> None:
        """Flush and release everything; no write follows."""
