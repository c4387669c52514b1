"""The build: the pipeline runs entirely compiled or entirely as Python, never a stale mixture, and
CI's two runs (tests/run.sh sets CI_EXPECT_BUILD) get the build they ask for."""

from __future__ import annotations

import hashlib
import json
import os
import runpy
from pathlib import Path

from app import build

ROOT = Path(__file__).resolve().parents[2]


def test_the_pipeline_is_all_compiled_or_all_python_and_the_build_ci_asked_for():
    compiled = build.compiled_modules()
    assert compiled in ([], list(build.COMPILED_MODULES)), build.describe()
    assert build.stale_modules() == [], build.describe()
    expected = os.environ.get("CI_EXPECT_BUILD")
    if expected is not None:
        assert ("compiled" if compiled else "pure") == expected, build.describe()


def test_every_compiled_module_is_a_file_of_the_pipeline_that_setup_compiles():
    """setup.py reads its list from app/build.py: a renamed module breaks the build here, not in CI."""
    for name in build.COMPILED_MODULES:
        assert (ROOT / (name.replace(".", "/") + ".py")).is_file(), name
    assert runpy.run_path(str(ROOT / "app" / "build.py"))["COMPILED_MODULES"] == build.COMPILED_MODULES


def test_a_compiled_module_whose_source_changed_since_the_build_is_reported_stale(tmp_path, monkeypatch):
    """The build records each source's hash; file times cannot tell, as an install resets them all."""
    source = ROOT / "app" / "clock.py"
    record = tmp_path / "compiled_sources.json"
    monkeypatch.setattr(build, "SOURCES_RECORD", record)
    monkeypatch.setattr(build, "compiled_modules", lambda: ["app.clock"])
    assert build.stale_modules() == ["app.clock"], "a compiled build without its record is stale"
    record.write_text(json.dumps({"app.clock": hashlib.sha256(source.read_bytes()).hexdigest()}))
    assert build.stale_modules() == []
    record.write_text(json.dumps({"app.clock": hashlib.sha256(b"an older clock.py").hexdigest()}))
    assert build.stale_modules() == ["app.clock"]
    assert build.describe().startswith("stale compiled build (app.clock edited since)")
