"""Enriched events and bad rows → the bytes of one output line."""

from __future__ import annotations

from typing import Any

import orjson


def json_line(record: dict[str, Any]) -> bytes:
    """One compact JSON object; absent fields are simply not keys."""
    return orjson.dumps(record)
