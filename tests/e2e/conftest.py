"""End-to-end fixtures: the page the browser tracker runs in, served from its own origin.

Tests start the collector with the shared fixtures (tests/conftest.py) and run the official
JavaScript trackers against it with `node_driver.run_node`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from node_driver import BROWSER_TRACKER_UMD, CHROMIUM, JS, NOT_INSTALLED


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
