"""`python -m app resend-failed`: send the spooled batches set aside as `.failed` once more.

The spool sets a batch aside when the sink refused it for good (an HTTP 4xx) or it could not be
read back. Once the operator has fixed the cause (the receiver's limits, its credentials), this
sends each one to the sink configured now, in the order it was spooled, and deletes it once the
sink acknowledged it. A batch that fails again stays where it is, and the exit code is 1.

The contract: docs/behaviour.md#sinks.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from app.config import Settings
from app.sinks.base import Sink
from app.sinks.spool import FAILED, read_batch
from app.wiring import REMOTE_SINKS, build_sink

OUTPUTS = ("good", "bad")
READY_POLL_S = 0.1


def resend_failed(settings: Settings) -> int:
    if settings.spool_dir is None or settings.sink not in REMOTE_SINKS:
        print(
            "resend-failed: needs COLLECTOR_SPOOL_DIR and a remote COLLECTOR_SINK (http, nats, kafka)", file=sys.stderr
        )
        return 2
    kept = sent = 0
    for output in OUTPUTS:
        # In the order they were spooled: a batch keeps its file's time through every rename.
        batches = sorted(
            (settings.spool_dir / output).glob(f"*/*{FAILED}"), key=lambda path: (path.stat().st_mtime, path.name)
        )
        if not batches:
            continue
        sink = build_sink(settings, output)
        try:
            _wait_ready(sink, 2 * settings.sink_timeout_seconds)
            for batch in batches:
                if _resend(sink, batch, output):
                    sent += 1
                else:
                    kept += 1
        finally:
            sink.close()
    print(f"{sent} batches sent, {kept} kept", file=sys.stderr)
    return 1 if kept else 0


def _resend(sink: Sink, batch: Path, output: str) -> bool:
    where = f"{output}/{batch.parent.name}/{batch.name}"
    try:
        records = read_batch(batch)
        sink.write(records)
    except (OSError, ValueError) as error:
        print(f"kept {where}: {error}")  # sink errors name no URL secrets
        return False
    batch.unlink()
    print(f"sent {where}: {len(records)} records")
    return True


def _wait_ready(sink: Sink, timeout_s: float) -> None:
    """A broker sink connects in the background: give it the time a write would get."""
    deadline = time.monotonic() + timeout_s
    while not sink.healthy() and time.monotonic() < deadline:
        time.sleep(READY_POLL_S)
