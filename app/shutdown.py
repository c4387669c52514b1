"""Graceful shutdown: on SIGTERM, report not-ready, keep serving for the drain period, then stop.

The contract: docs/behaviour.md#acknowledgement.

uvicorn stops accepting as soon as it sees the signal; a load balancer needs a while to
notice `/sink-health` failing first. So the app takes SIGTERM over for the drain period
and only then hands it to uvicorn, which finishes in-flight requests and runs the lifespan
shutdown, where the batcher stores everything pending.

SIGINT (Ctrl-C) is a person at a terminal, not an orchestrator: it goes straight to uvicorn,
which stops at once after the same lifespan shutdown, so what was acknowledged is still stored.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)


def install_drain(drain_seconds: float, on_drain: Callable[[], None]) -> None:
    """Wrap the server's own SIGTERM handler (installed before the app starts)."""
    if threading.current_thread() is not threading.main_thread():
        return  # embedded in a test client or another host: that host owns the signals
    loop = asyncio.get_running_loop()
    draining = False

    def wrap(stop: Callable[[int, FrameType | None], Any]) -> Callable[[int, FrameType | None], None]:
        def handle(signum: int, frame: FrameType | None) -> None:
            nonlocal draining
            if draining:  # a second signal: stop now
                stop(signum, frame)
                return
            draining = True
            on_drain()
            log.info("shutdown requested: not ready, serving for %.1f s more", drain_seconds)
            loop.call_soon_threadsafe(loop.call_later, drain_seconds, stop, signum, frame)

        return handle

    current = signal.getsignal(signal.SIGTERM)
    if callable(current):
        signal.signal(signal.SIGTERM, wrap(current))
