"""Prometheus metrics. With several workers each writes its own files under
PROMETHEUS_MULTIPROC_DIR (set by the command line before any worker starts), and
`/metrics` adds them up, so a scrape sees the whole service whichever worker answers."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROCESS_DIR))
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "collector_requests", "HTTP requests on the tracking routes", ["route", "status"], registry=registry
        )
        self.events = Counter(
            "collector_events", "Records stored, by outcome: good or the bad-row type", ["outcome"], registry=registry
        )
        self.anonymous_events = Counter(
            "collector_anonymous_events", "Records from requests with SP-Anonymous", registry=registry
        )
        self.batch_records = Histogram(
            "collector_batch_records",
            "Records per written batch",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000),
            registry=registry,
        )
        self.write_seconds = Histogram(
            "collector_batch_write_seconds",
            "Time to write and sync one batch to the sinks",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=registry,
        )
        self.inflight_records = Gauge(
            "collector_inflight_records",
            "Records accepted but not yet stored",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.inflight_bytes = Gauge(
            "collector_inflight_bytes",
            "Bytes accepted but not yet stored",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.sink_healthy = Gauge(
            "collector_sink_healthy",
            "1 while every worker's sinks accept writes (what /sink-health reports, draining aside)",
            registry=registry,
            multiprocess_mode="livemin",
        )
        self.sink_reachable = Gauge(
            "collector_sink_reachable",
            "1 while the sink of this output (the broker, receiver or folder) takes writes; a spool does not count",
            ["output"],
            registry=registry,
            multiprocess_mode="livemin",
        )
        self.request_seconds = Histogram(
            "collector_request_seconds",
            "Time from a tracking request's arrival to its answer, storage included",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.spool_bytes = Gauge(
            "collector_spool_bytes",
            "Bytes spooled on local disk, waiting for the sink",
            ["output"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.spool_batches = Gauge(
            "collector_spool_batches",
            "Batches spooled on local disk, waiting for the sink",
            ["output"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.spool_oldest_seconds = Gauge(
            "collector_spool_oldest_seconds",
            "Age of the oldest spooled batch (0 when the spool is empty)",
            ["output"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.spool_failed_batches = Gauge(
            "collector_spool_failed_batches",
            "Spooled batches set aside as .failed in the spool folder, waiting for an operator",
            ["output"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        # Labelled children, looked up once: `labels()` on every request would cost more than the count.
        self._request_children: dict[tuple[str, int], Counter] = {}
        self._latency_children: dict[str, Histogram] = {}
        self._event_children: dict[str, Counter] = {}

    def request(self, route: str, status: int, seconds: float) -> None:
        child = self._request_children.get((route, status))
        if child is None:
            child = self._request_children[(route, status)] = self.requests.labels(route, str(status))
        child.inc()
        latency = self._latency_children.get(route)
        if latency is None:
            latency = self._latency_children[route] = self.request_seconds.labels(route)
        latency.observe(seconds)

    def reachable(self, good: bool, bad: bool) -> None:
        self.sink_reachable.labels("good").set(good)
        self.sink_reachable.labels("bad").set(bad)

    def spool(self, output: str, size: int, batches: int, oldest_s: float, failed: int) -> None:
        self.spool_bytes.labels(output).set(size)
        self.spool_batches.labels(output).set(batches)
        self.spool_oldest_seconds.labels(output).set(oldest_s)
        self.spool_failed_batches.labels(output).set(failed)

    def follow_inflight(self, records: Callable[[], float], size: Callable[[], float]) -> None:
        """One process: the gauges read the batcher's counts at scrape time, costing requests nothing.
        Several: each worker writes its own value as it changes (see `inflight`), for /metrics to add."""
        if not self.multiprocess:
            self.inflight_records.set_function(records)
            self.inflight_bytes.set_function(size)

    def inflight(self, records: int, size: int) -> None:
        if self.multiprocess:
            self.inflight_records.set(records)
            self.inflight_bytes.set(size)

    def stored(self, outcomes: Mapping[str, int], anonymous: bool) -> None:
        for outcome, count in outcomes.items():
            child = self._event_children.get(outcome)
            if child is None:
                child = self._event_children[outcome] = self.events.labels(outcome)
            child.inc(count)
        if anonymous:
            self.anonymous_events.inc(sum(outcomes.values()))

    def render(self) -> bytes:
        if not self.multiprocess:
            return generate_latest(self.registry)
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)  # type: ignore[no-untyped-call]  # prometheus_client lacks hints here
        return generate_latest(combined)

    def close(self) -> None:
        if self.multiprocess:
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
