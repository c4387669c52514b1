"""Which modules the build compiles with mypyc (setup.py reads this list), and which of them this
process actually runs compiled: all of them, or none (pure Python); anything between is a stale
build. Plain Python over plain data, strictly typed: what mypyc compiles well.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

# Written by setup.py's build beside the compiled modules: the hash of each source they came from.
SOURCES_RECORD = Path(__file__).with_name("compiled_sources.json")

COMPILED_MODULES = (
    "app.clock",
    "app.ids",
    "app.record",
    "app.failures",
    "app.request",
    "app.privacy",
    "app.atomic",
    "app.text",
    "app.uri",
    "app.decimals",
    "app.protocol",
    "app.identity",
    "app.enrich",
    "app.cross_domain",
    "app.badrows",
    "app.formats",
    "app.redirect",
    "app.record_ids",
    "app.pipeline",
)


def compiled_modules() -> list[str]:
    """The modules of COMPILED_MODULES that this process loaded from a compiled extension."""
    return [
        name
        for name in COMPILED_MODULES
        if (importlib.import_module(name).__file__ or "").endswith(tuple(EXTENSION_SUFFIXES))
    ]


def stale_modules() -> list[str]:
    """Compiled modules whose source differs from the one they were compiled from: the edit does not
    run. A compiled build without its record of sources counts as stale throughout."""
    compiled = compiled_modules()
    try:
        recorded = json.loads(SOURCES_RECORD.read_bytes())
    except (OSError, ValueError):
        return compiled
    stale = []
    for name in compiled:
        source = Path(importlib.import_module(name).__file__ or "").with_name(name.rsplit(".", 1)[1] + ".py")
        if source.is_file() and hashlib.sha256(source.read_bytes()).hexdigest() != recorded.get(name):
            stale.append(name)
    return stale


def describe() -> str:
    stale = stale_modules()
    if stale:
        return f"stale compiled build ({', '.join(stale)} edited since): rebuild it or remove it"
    compiled = len(compiled_modules())
    if compiled == 0:
        return "pure Python"
    if compiled == len(COMPILED_MODULES):
        return f"compiled with mypyc ({compiled} modules)"
    return f"partly compiled ({compiled} of {len(COMPILED_MODULES)} modules: a stale build, rebuild or remove it)"
