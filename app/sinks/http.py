"""POST each batch to a URL as gzipped JSON lines; any 2xx acknowledges the whole batch.

Transient failures (connection errors, 408, 429, 5xx) are retried with exponential backoff
inside one write; if every attempt fails the batch fails, and its requests get a 503.
"""

from __future__ import annotations

import gzip
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.deadline_http import DeadlineClient
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
    http_batch_deadline_seconds: float
    spool_dir: Path | None


def build(settings: HttpSettings, output: str) -> HttpSink:
    url = settings.http_good_url if output == "good" else settings.http_bad_url
    # With a spool, a failed batch goes to disk at once and the spool retries it in the background.
    attempts = 1 if settings.spool_dir is not None else settings.http_attempts
    return HttpSink(
        url,
        settings.sink_timeout_seconds,
        attempts,
        settings.http_backoff_seconds,
        settings.http_batch_deadline_seconds,
    )


class HttpSink:
    name = "http"

    def __init__(self, url: str, timeout_s: float, attempts: int, backoff_s: float, deadline_s: float) -> None:
        self.url = url
        self.shown_url = safe_url(url)  # for messages: logs and 503 bodies never see its secrets
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.deadline_s = deadline_s
        self.probe_deadline_s = min(timeout_s, deadline_s)
        self.client = DeadlineClient(timeout_s)
        self.probe = DeadlineClient(timeout_s)  # health checks run beside writes, on their own connection
        self._failing = True  # until the receiver has answered once: /sink-health stays 503 at start
        self._probed_at = float("-inf")

    def write(self, records: list[Record]) -> None:
        """One batch, every attempt and wait included, within the batch deadline."""
        if not records:
            return
        deadline = time.monotonic() + self.deadline_s
        body = gzip.compress(b"".join(record.data + b"\n" for record in records), compresslevel=5)
        headers = {"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.client.request(
                    "POST", self.url, deadline - time.monotonic(), content=body, headers=headers
                )
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
            pause = self.backoff_s * 2 ** (attempt - 1)
            if attempt >= self.attempts or time.monotonic() + pause >= deadline:
                break
            time.sleep(pause)
        self._failing = True
        raise OSError(
            f"http sink {self.shown_url}: {problem} after {attempt} attempt(s) in {self.deadline_s} s at most"
        )

    def healthy(self) -> bool:
        """Asks the receiver (at most once a second): with no traffic, a failure or a recovery
        would otherwise go unseen, and a load balancer would keep or withhold traffic wrongly."""
        now = time.monotonic()
        if now - self._probed_at >= PROBE_INTERVAL_S:
            self._probed_at = now
            try:
                status = self.probe.request("HEAD", self.url, self.probe_deadline_s).status_code
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
        self.probe.close()
