"""Which modules the build compiles with mypyc (setup.py reads this list), and which of them this
process actually runs compiled: all of them, or none (pure Python); anything between is a stale
build. Plain Python over plain data, strictly typed: what mypyc compiles well.
"""

from __future__ import annotations

import importlib
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

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
    """Compiled modules whose source was edited after they were compiled: the edit does not run."""
    stale = []
    for name in compiled_modules():
        compiled = Path(importlib.import_module(name).__file__ or "")
        source = compiled.parent / (name.rsplit(".", 1)[1] + ".py")
        if source.is_file() and source.stat().st_mtime > compiled.stat().st_mtime:
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
