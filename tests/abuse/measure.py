"""The hostile cases of issue 14, measured: the server's CPU time, RSS growth and bytes written per request.

Usage, from the repository root: .venv/bin/python -m tests.abuse.measure SCRATCH_FOLDER
The tests of this folder assert the bounds; this prints the figures.
"""

from __future__ import annotations

import gzip
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

from tests.abuse.abuse_support import cpu_seconds, rss_bytes, send_raw
from tests.conftest import Collector, start_collector
from tests.integration.http_support import JSON, TP2, contexts, page_view, payload_data

TASK_UPDATE = "iglu:com.snowplowanalytics.factotum/task_update/jsonschema/1-0-0"
CHANGE_FORM = "iglu:com.snowplowanalytics.snowplow/change_form/jsonschema/1-0-0"


def with_entity(schema: str, data: dict) -> bytes:
    return orjson.dumps(payload_data(page_view(co=orjson.dumps(contexts({"schema": schema, "data": data})).decode())))


def cases(collector: Collector) -> dict[str, Callable[[], int]]:
    url, port = collector.url, collector.port
    failing = orjson.dumps(payload_data(*[{"e": "pv", "p": "web", "tv": "t", "vid": "x"} for _ in range(1000)]))
    regex = with_entity(TASK_UPDATE, {"applicationContext": {"version": "1" * 40_000, "name": "n"}})
    form = {"formId": "f", "elementId": "e", "nodeName": "INPUT", "elementClasses": [1] * 300_000, "value": "v"}
    gzipped = {**JSON, "Content-Encoding": "gzip"}
    return {
        "regex: 40,000 x '1' in task_update": lambda: httpx.post(url + TP2, content=regex, headers=JSON).status_code,
        "2.4 MB of repeated headers": lambda: send_raw(
            port, b"GET /i HTTP/1.1\r\nHost: x\r\n" + b"X-A: a\r\n" * 300_000
        )[0],
        "4 MiB URL": lambda: send_raw(port, b"GET /i?u=" + b"a" * 4 * 2**20 + b" HTTP/1.1\r\n")[0],
        "100,000 empty gzip members": lambda: (
            httpx.post(url + TP2, content=gzip.compress(b"", mtime=0) * 100_000, headers=gzipped).status_code
        ),
        "1,000 failing events + 20 KB ?url=": lambda: (
            httpx.post(url + TP2, params={"url": "u" * 20_000}, content=failing, headers=JSON).status_code
        ),
        "change_form with 300,000 wrong items": lambda: (
            httpx.post(url + TP2, content=with_entity(CHANGE_FORM, form), headers=JSON, timeout=60).status_code
        ),
    }


def main(scratch: Path) -> None:
    collector = start_collector(scratch / "data")
    pid = collector.process.pid

    def written() -> int:
        return sum(path.stat().st_size for path in collector.data_dir.rglob("*.jsonl*"))

    try:
        httpx.get(collector.url + "/health")
        for label, send in cases(collector).items():
            cpu, rss, stored = cpu_seconds(pid), rss_bytes(pid), written()
            status = send()
            print(
                f"{label}: {status}, CPU {cpu_seconds(pid) - cpu:.3f} s, "
                f"RSS +{(rss_bytes(pid) - rss) / 2**20:.1f} MiB, written {written() - stored} B"
            )
    finally:
        collector.stop(signal.SIGKILL)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
