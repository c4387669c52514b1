"""POST each batch to a URL as gzipped JSON lines; any 2xx acknowledges the whole batch.

Transient failures (connection errors, 408, 429, 5xx) are retried with exponential backoff
inside one write; if every attempt fails the batch fails, and its requests get a 503.
"""

from __future__ import annotations

import gzip
import logging
import time
from dataclasses import dataclass

import httpx

from app.redact import safe_url, scrub
from app.sinks.base import Record, Refused

log = logging.getLogger(__name__)
RETRIED_STATUSES = frozenset({408, 429})
PROBE_INTERVAL_S = 1.0


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """What the http sink reads of the settings (the same names)."""

    http_good_url: str
    http_bad_url: str
    sink_timeout_seconds: float
    http_attempts: int
    http_backoff_seconds: float


def build(settings: HttpSettings, output: str) -> HttpSink:
    url = settings.http_good_url if output == "good" else settings.http_bad_url
    return HttpSink(url, settings.sink_timeout_seconds, settings.http_attempts, settings.http_backoff_seconds)


class HttpSink:
    name = "http"

    def __init__(self, url: str, timeout_s: float, attempts: int, backoff_s: float) -> None:
        self.url = url
        self.shown_url = safe_url(url)  # for messages: logs and 503 bodies never see its secrets
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.client = httpx.Client(timeout=timeout_s)
        self._failing = True  # until the receiver has answered once: /sink-health stays 503 at start
        self._probed_at = float("-inf")

    def write(self, records: list[Record]) -> None:
        if not records:
            return
        body = gzip.compress(b"".join(record.data + b"\n" for record in records), compresslevel=5)
        headers = {"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.client.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as error:
                problem = f"{type(error).__name__}: {scrub(str(error), self.url)}"
            else:
                if response.is_success:
                    self._failing = False
                    return
                problem = f"HTTP {response.status_code}"
                if response.status_code < 500 and response.status_code not in RETRIED_STATUSES:
                    self._failing = True
                    raise Refused(f"http sink {self.shown_url}: {problem}: the receiver refuses this batch")
            if attempt < self.attempts:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
        self._failing = True
        raise OSError(f"http sink {self.shown_url}: {problem} after {attempt} attempt(s)")

    def healthy(self) -> bool:
        """Asks the receiver (at most once a second): with no traffic, a failure or a recovery
        would otherwise go unseen, and a load balancer would keep or withhold traffic wrongly."""
        now = time.monotonic()
        if now - self._probed_at >= PROBE_INTERVAL_S:
            self._probed_at = now
            try:
                status = self.client.head(self.url).status_code
                # 501: the receiver is up but has no HEAD (a POST-only endpoint). Counting it as
                # failing kept /sink-health at 503 from start, so no traffic ever came to heal it.
                self._failing = status >= 500 and status != 501
            except httpx.HTTPError:
                self._failing = True
        return not self._failing

    def max_record_bytes(self) -> int | None:
        return None

    def tick(self) -> None:
        pass

    def close(self) -> None:
        self.client.close()
