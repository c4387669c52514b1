"""Enriched events and bad rows → the bytes of one output line.

`json` (the default) is one compact object with canonical field names, absent fields left
out. `tsv` is Snowplow's 131-field enriched TSV, the format loaders and the Analytics SDKs
read: fields in this fixed order, empty for absent, timestamps as `yyyy-MM-dd HH:mm:ss.SSS`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from app import exact_json
from app.atomic import FIELDS

TIMESTAMPS = frozenset(
    {
        "etl_tstamp",
        "collector_tstamp",
        "dvce_created_tstamp",
        "dvce_sent_tstamp",
        "refr_dvce_tstamp",
        "derived_tstamp",
        "true_tstamp",
    }
)


def json_line(record: dict[str, Any]) -> bytes:
    """One compact JSON object; absent fields are simply not keys."""
    # A right-sized copy: orjson's own result keeps a much larger buffer alive (about 16 KiB for a
    # 2 KiB line), and lines wait in memory until their batch is stored.
    return bytes(memoryview(exact_json.dumps(record)))


def _tsv_value(name: str, value: Any) -> str:
    if isinstance(value, str):
        # 2026-11-28T23:42:51.078Z → 2026-11-28 23:42:51.078
        return f"{value[:10]} {value[11:23]}" if name in TIMESTAMPS else value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)  # as Java's BigDecimal.toString prints it (app/decimals.py)
    return exact_json.dumps(value).decode()  # contexts, unstruct_event


def tsv_line(event: dict[str, Any]) -> bytes:
    return "\t".join(_tsv_value(name, event[name]) if name in event else "" for name in FIELDS).encode()


FORMATS: dict[str, Callable[[dict[str, Any]], bytes]] = {"json": json_line, "tsv": tsv_line}
