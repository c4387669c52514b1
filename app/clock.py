"""Time as Snowplow writes it: epoch milliseconds in, ISO-8601 UTC with milliseconds out."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

MIN_MS = -62135596800000  # 0001-01-01T00:00:00Z, the first instant datetime can show
MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999Z


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso_from_ms(ms: int) -> str:
    """2026-11-28T23:45:01.123Z"""
    return f"{_iso_second(ms // 1000)}.{ms % 1000:03d}Z"


@lru_cache(maxsize=4096)
def _iso_second(seconds: int) -> str:
    # Events of one request share a few seconds, so the date arithmetic is done once per second.
    m = EPOCH + timedelta(seconds=seconds)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"


def iso_now() -> str:
    return iso_from_ms(now_ms())
