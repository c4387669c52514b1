"""Shared fixtures: the real service as a separate process on a free port, and its output on disk."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import orjson
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_lines(folder: Path) -> list[dict]:
    """Every record in a sink folder, sealed files and the ones being written."""
    records = []
    for path in sorted(folder.glob("*.jsonl*")):
        records.extend(orjson.loads(line) for line in path.read_bytes().splitlines() if line)
    return records


@dataclass
class Collector:
    url: str
    port: int
    data_dir: Path
    process: subprocess.Popen
    log_path: Path

    def good(self) -> list[dict]:
        return read_lines(self.data_dir / "good")

    def bad(self) -> list[dict]:
        return read_lines(self.data_dir / "bad")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


def start_collector(
    data_dir: Path, env: dict[str, str] | None = None, args: list[str] | None = None, cwd: Path = ROOT
) -> Collector:
    """The service as `python -m app`, run from `cwd` (the repository unless a test runs an installed copy)."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"collector-{port}.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    environment["COLLECTOR_DRAIN_SECONDS"] = "0"  # tests stop at once unless they ask for a drain
    environment["COLLECTOR_WORKERS"] = "1"  # one process unless a test asks for more (the default is one per core)
    environment.update(env or {})
    command = [sys.executable, "-m", "app", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command + (args or []), cwd=cwd, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
    collector = Collector(f"http://127.0.0.1:{port}", port, data_dir, process, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"collector exited with {process.returncode}:\n{collector.log()}")
        try:
            if httpx.get(f"{collector.url}/health", timeout=1).status_code == 200:
                return collector
        except httpx.TransportError:
            time.sleep(0.05)  # polling for start-up, not timing a result
    collector.stop(signal.SIGKILL)
    raise RuntimeError(f"collector did not start:\n{collector.log()}")


@pytest.fixture
def collector_factory(tmp_path: Path) -> Iterator[Callable[..., Collector]]:
    started: list[Collector] = []

    def factory(
        env: dict[str, str] | None = None, args: list[str] | None = None, data_dir: Path | None = None
    ) -> Collector:
        collector = start_collector(data_dir or tmp_path / f"data{len(started)}", env, args)
        started.append(collector)
        return collector

    yield factory
    for collector in started:
        if collector.process.poll() is None:
            collector.stop(signal.SIGKILL)


@pytest.fixture
def collector(collector_factory: Callable[..., Collector]) -> Collector:
    return collector_factory()


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """A local HTTP server for the files of `folder` (data files that configs name by http:// URI); yields its URL."""
    handler = partial(_QuietFileHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietFileHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass
