"""End-to-end helpers: run the official JavaScript trackers against the real service.

The npm project in `tests/e2e/js/` (installed by `tests/e2e/js/install.sh`: `npm ci` and Debian's
Chromium) holds one driver script per tracker. A test starts the collector with the shared
fixtures, runs a driver with `run_node`, and gets back one JSON report from the driver's last
line of output: what the tracker sent, what the browser saw on the wire, and its cookie jar.
The assertions live in the tests, on the stored events and on that report.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

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


class _PageHandler(BaseHTTPRequestHandler):
    """Serves the test page and the browser tracker's UMD build, nothing else."""

    routes = {
        "/": (JS / "page" / "index.html", "text/html; charset=utf-8"),
        "/sp.js": (BROWSER_TRACKER_UMD, "text/javascript; charset=utf-8"),
    }

    def do_GET(self) -> None:  # noqa: N802 (the http.server naming)
        path = self.path.split("?", 1)[0]
        if path not in self.routes:
            self.send_error(404)
            return
        file, content_type = self.routes[path]
        body = file.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def page_origin() -> Iterator[str]:
    """The test page's origin: `http://localhost:<port>`, a different site from the collector.

    The collector is reached at `http://127.0.0.1:<port>`: another host, so another *site*, and the
    collector's `sp` cookie is a third-party cookie, as with a collector on its own domain. That
    is the case its attributes exist for: a cross-site request carries the cookie only when it is
    `SameSite=None; Secure`. Chromium treats both loopback hosts as potentially trustworthy, so it
    keeps `Secure` cookies over plain http there, and the real attributes are tested unchanged.
    """
    if not BROWSER_TRACKER_UMD.is_file() or not CHROMIUM.is_file():
        pytest.fail(NOT_INSTALLED)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
