"""A small load generator for fault tests: POSTs batches of structured events, and remembers
exactly which event ids were acknowledged (got a 200), rejected (503) or lost in transit."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import httpx

TP2 = "/com.snowplowanalytics.snowplow/tp2"
PAYLOAD_DATA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"


def batch(size: int) -> tuple[list[str], dict]:
    ids = [str(uuid.uuid4()) for _ in range(size)]
    events = [
        {"e": "se", "p": "srv", "tv": "load-1", "eid": eid, "se_ca": "load", "se_ac": "send", "se_la": eid}
        for eid in ids
    ]
    return ids, {"schema": PAYLOAD_DATA, "data": events}


@dataclass
class Load:
    url: str
    senders: int = 4
    batch_size: int = 10
    sent: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    # The same ids per sender thread, in the order each sender got its 200s (its requests are sequential).
    acknowledged_by_sender: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    transport_errors: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Load:
        for _ in range(self.senders):
            thread = threading.Thread(target=self._send_until_stopped, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _send_until_stopped(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self._stop.is_set():
                ids, body = batch(self.batch_size)
                with self._lock:
                    self.sent.extend(ids)
                try:
                    response = client.post(TP2, json=body)
                except httpx.TransportError:
                    with self._lock:
                        self.transport_errors += 1
                    time.sleep(0.01)  # the server is down: do not spin
                    continue
                with self._lock:
                    self.statuses[response.status_code] += 1
                    if response.status_code == 200:
                        self.acknowledged.extend(ids)
                        self.acknowledged_by_sender[threading.current_thread().name].extend(ids)

    def wait_for(self, condition, timeout: float = 30, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: statuses {dict(self.statuses)}")
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
