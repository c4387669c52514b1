"""The Micro API with 10,000 events held: how long the inspector's and a test suite's queries take.

Starts `python -m app micro` on a free port, sends 10,000 page views in batches of 1,000, then
times each query once (wall time as the client sees it, and the server's CPU time), and prints
the server's resident memory.

    python bench/micro.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD_DATA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fill(url: str, batches: int = 10, size: int = 1000) -> None:
    for batch in range(batches):
        events = [
            {"e": "pv", "p": "web", "tv": "bench", "aid": f"app{i % 7}", "url": f"https://x.example/{batch}/{i}"}
            for i in range(size)
        ]
        body = orjson.dumps({"schema": PAYLOAD_DATA, "data": [{**e, "eid": str(uuid.uuid4())} for e in events]})
        answer = httpx.post(
            f"{url}/com.snowplowanalytics.snowplow/tp2", content=body, headers={"Content-Type": "application/json"}
        )
        answer.raise_for_status()


def main() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    command = [sys.executable, "-m", "app", "micro", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/health")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        fill(url)
        print("held:", httpx.get(f"{url}/micro/all").json())
        queries: list[tuple[str, Callable[[], httpx.Response]]] = [
            ("inspector, first load", lambda: httpx.get(f"{url}/micro/ui/rows")),
            ("inspector, live update", lambda: httpx.get(f"{url}/micro/ui/rows?after=10000")),
            ("inspector, free text (first)", lambda: httpx.get(f"{url}/micro/ui/rows?text=x.example/9/99")),
            ("inspector, free text (again)", lambda: httpx.get(f"{url}/micro/ui/rows?text=x.example/9/99")),
            ("/micro/good, all", lambda: httpx.get(f"{url}/micro/good", timeout=60)),
            ("/micro/good, event_type + limit 10", lambda: httpx.post(f"{url}/micro/good", json={"limit": 10})),
        ]
        for name, query in queries:
            cpu, started = cpu_seconds(server.pid), time.perf_counter()
            answer = query()
            wall = time.perf_counter() - started
            print(
                f"{name}: {wall:.3f} s, server CPU {cpu_seconds(server.pid) - cpu:.2f} s, {len(answer.content) // 1024} KiB"
            )
        rss = Path(f"/proc/{server.pid}/status").read_text().split("VmRSS:")[1].split()[0]
        print(f"server resident memory: {int(rss) // 1024} MiB")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
