"""Text made safe for the enriched event, as Enrich's `fixTabsNewlines` does it."""

from __future__ import annotations

# Tabs become four spaces and other (ASCII) control characters go, so every value is TSV-safe.
TSV_SAFE = {**{code: None for code in range(32)}, 9: "    ", 127: None}


def clean(value: str) -> str:
    return value.translate(TSV_SAFE) if not value.isprintable() else value
