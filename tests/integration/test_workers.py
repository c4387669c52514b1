"""Worker processes stop with the supervisor that started them, however it stops."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from http_support import pixel


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # the process ended while we looked
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)  # polling for a process to end, not timing a result
    return predicate()


@pytest.mark.parametrize(
    "signals", [[signal.SIGKILL], [signal.SIGINT, signal.SIGKILL]], ids=["kill-9", "ctrl-c-then-kill-9"]
)
def test_workers_do_not_outlive_the_supervisor(collector_factory, signals):
    collector = collector_factory(args=["--workers", "2"])
    supervisor = collector.process.pid
    assert wait_for(lambda: len(children(supervisor)) >= 2, 30)
    workers = children(supervisor)
    assert pixel(collector.url, {"e": "pv"}).status_code == 200

    for sig in signals:
        os.kill(supervisor, sig)
    collector.process.wait(20)

    assert wait_for(lambda: not any(alive(pid) for pid in workers), 30), [p for p in workers if alive(p)]
