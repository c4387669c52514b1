"""A non-editable install runs from any folder: the schemas ship inside the package."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import ROOT, start_collector
from tests.integration.http_support import page_view

# What `pip install .` reads; copied, so that the build leaves nothing in the working tree.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "app", "schemas")


def install(tmp_path: Path) -> Path:
    """`pip install .` of a copy of the repository into a folder of its own, without dependencies
    (the test's interpreter has them); returns the folder to put on PYTHONPATH."""
    source, target = tmp_path / "source", tmp_path / "site"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
        else:
            shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["--target", str(target), str(source)],
        check=True,
        capture_output=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    return target


def test_an_installed_copy_runs_compiled_and_finds_its_schemas_from_another_folder(tmp_path):
    site = install(tmp_path)  # this machine has a C compiler: the wheel holds the compiled pipeline
    elsewhere = tmp_path / "elsewhere"  # neither the repository nor the install: no schemas/ beside it
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = "import app.config as c, app.build as b; print(c.__file__); print(c.Settings().schemas_dir); print(b.describe())"
    found = subprocess.run([sys.executable, "-c", where], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert found.stdout.splitlines()[:2] == [str(site / "app" / "config.py"), str(site / "app" / "iglu_schemas")], (
        found.stderr
    )
    assert found.stdout.splitlines()[2].startswith("compiled with mypyc"), found.stdout

    for part in ("micro/api.py", "micro/ui/index.html", "enrichments/__init__.py", "sinks/file.py"):
        assert (site / "app" / part).is_file(), f"{part} missing from the installed package"

    collector = start_collector(tmp_path / "data", env={"PYTHONPATH": str(site)}, cwd=elsewhere)
    try:
        event = page_view()
        assert httpx.get(f"{collector.url}/i", params=event).status_code == 200
    finally:
        assert collector.stop(signal.SIGTERM) == 0
    assert [stored["event_id"] for stored in collector.good()] == [event["eid"]]
