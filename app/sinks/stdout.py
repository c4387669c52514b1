"""Records as lines on standard output, for piping into another process or a container log."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import BinaryIO

from app.sinks.base import Record


@dataclass(frozen=True, slots=True)
class StdoutSettings:
    """The stdout sink has no settings of its own."""


def build(settings: StdoutSettings, output: str) -> StdoutSink:
    return StdoutSink()


class StdoutSink:
    name = "stdout"

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self.stream = stream or sys.stdout.buffer

    def write(self, records: list[Record]) -> None:
        if records:
            self.stream.write(b"".join(record.data + b"\n" for record in records))
            self.stream.flush()

    def healthy(self) -> bool:
        return not self.stream.closed

    def max_record_bytes(self) -> int | None:
        return None

    def tick(self) -> None:
        pass

    def close(self) -> None:
        self.stream.flush()
