"""Runs the driver scripts of the npm project in `tests/e2e/js/` (installed by its install.sh).

A driver runs one official JavaScript tracker against the service and prints one JSON report on
its last line of output; the pytest tests make their assertions on that report and on the
events the collector stored.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).resolve().parent / "js"
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_TRACKER_UMD = JS / "node_modules" / "@snowplow" / "browser-tracker" / "dist" / "index.umd.min.js"
NOT_INSTALLED = "the tracker packages are not installed: run tests/e2e/js/install.sh"


def run_node(script: str, config: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    """Run `tests/e2e/js/<script>` with `config` as JSON; return the JSON report it prints last."""
    if shutil.which("node") is None or not (JS / "node_modules").is_dir():
        pytest.fail(NOT_INSTALLED)  # never a skip: CI installs these, so missing is a failure
    try:
        done = subprocess.run(
            ["node", str(JS / script), json.dumps(config)], cwd=JS, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"{script} did not finish in {timeout} s\nstderr:\n{_text(expired.stderr)}")
    if done.returncode != 0:
        pytest.fail(f"{script} exited with {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}")
    lines = done.stdout.strip().splitlines()
    if not lines:
        pytest.fail(f"{script} printed no report\nstderr:\n{done.stderr}")
    return json.loads(lines[-1])


def _text(output: bytes | str | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else (output or "")
