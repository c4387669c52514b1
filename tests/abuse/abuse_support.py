"""What the hostile-client suite needs beyond tests/conftest.py: the server's CPU time and memory,
raw sockets, and nginx started from the repository's own deploy/nginx.conf.

Imported by the tests of this folder (not a test module itself).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import ROOT, Collector, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # /usr/sbin is not on every user's PATH
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Front:
    """How a hostile client reaches the collector: directly, or through nginx."""

    name: str
    url: str
    port: int
    collector: Collector


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (not wall-clock time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def answer_of(sock: socket.socket) -> tuple[int, bytes]:
    """Read until the server closes (or a whole answer with a length arrived): (status, raw answer)."""
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: *(\d+)", head)
        if length and len(body) >= int(length.group(1)):
            break
    if not received:
        return 0, b""  # closed without a word
    return int(received.split(b" ", 2)[1]), received


def send_raw(port: int, data: bytes, timeout_s: float = 20) -> tuple[int, bytes]:
    """Send bytes as they are (however hostile) and return the answer; 0 when closed without one."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and stopped reading: the answer may still be there
        return answer_of(sock)


class DeployedNginx:
    """deploy/nginx.conf as shipped, with its upstreams pointed at one collector and its paths in a test folder."""

    def __init__(self, folder: Path, upstream_port: int) -> None:
        self.folder = folder
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        config = (ROOT / "deploy" / "nginx.conf").read_text()
        servers = re.findall(r"^\s*server\s+[\w.-]+:\d+[^;]*;\n", config, flags=re.M)
        assert servers, "deploy/nginx.conf has no upstream servers"
        config = config.replace(servers[0], f"        server 127.0.0.1:{upstream_port};\n")
        for other in servers[1:]:
            config = config.replace(other, "")
        config = re.sub(r"listen\s+80\s*;", f"listen 127.0.0.1:{self.port};", config)
        paths = "".join(
            f"    {kind}_temp_path {folder / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        config = config.replace("http {", f"http {{\n    access_log {folder / 'access.log'};\n{paths}", 1)
        prefix = f"pid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\n"
        if os.geteuid() == 0:
            prefix += "user root;\n"
        (folder / "nginx.conf").write_text(prefix + config)
        command = [NGINX, "-e", str(folder / "error.log"), "-c", str(folder / "nginx.conf"), "-p", str(folder)]
        self.process = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.STDOUT)
        self._wait_ready()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.05)  # polling for start-up, not timing a result

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
