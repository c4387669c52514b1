"""The application factory: builds every stage once from Settings and wires them together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, Response

from app import __version__
from app.batching import Batcher
from app.config import Settings, load_settings
from app.iglu import Registry, SchemaKey
from app.iglu_remote import RemoteRepository
from app.metrics import Metrics
from app.pipeline import Pipeline
from app.routes import TrackingRoutes
from app.shutdown import install_drain
from app.sinks.base import Sink
from app.sinks.fault import FaultSwitch
from app.sinks.file import FileSink
from app.sinks.http import HttpSink
from app.sinks.spool import Spool
from app.sinks.stdout import StdoutSink
from app.worker_lifetime import follow_parent

REMOTE_SINKS = ("http", "nats", "kafka")
ROBOTS = "User-agent: *\nDisallow: /\n"
# Compiled at start-up rather than on the first event: nearly every web event carries these.
WARM_SCHEMAS = [
    "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0",
    "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1",
    "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
    "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-0",
    "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-1",
    "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2",
    "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0",
]


def build_registry(settings: Settings) -> Registry:
    remotes = [RemoteRepository(registry, settings.iglu_timeout_seconds) for registry in settings.iglu_registries]
    return Registry(
        settings.schemas_dir,
        remotes,
        cache_size=settings.iglu_cache_size,
        ttl_s=settings.iglu_cache_ttl_seconds,
        negative_ttl_s=settings.iglu_negative_ttl_seconds,
    )


def build_sinks(settings: Settings) -> tuple[Sink, Sink]:
    """The good and the bad output, each its own sink of the configured kind."""
    sinks = [_sink(settings, output) for output in ("good", "bad")]
    if settings.spool_dir is not None and settings.sink in REMOTE_SINKS:
        sinks = [
            Spool(sink, settings.spool_dir / output, settings.spool_max_bytes)
            for sink, output in zip(sinks, ("good", "bad"), strict=False)
        ]
    if settings.fault_switch is not None:
        sinks = [FaultSwitch(sink, settings.fault_switch) for sink in sinks]
    return sinks[0], sinks[1]


def _sink(settings: Settings, output: str) -> Sink:
    good = output == "good"
    if settings.sink == "file":
        return FileSink(settings.data_dir / output, settings.file_rotate_bytes, settings.file_rotate_seconds)
    if settings.sink == "stdout":
        return StdoutSink()
    if settings.sink == "http":
        url = settings.http_good_url if good else settings.http_bad_url
        assert url is not None  # Settings refuses sink=http without both URLs
        return HttpSink(url, settings.sink_timeout_seconds, settings.http_attempts, settings.http_backoff_seconds)
    if settings.sink == "nats":
        from app.sinks.nats import NatsSink  # optional dependency: imported only when chosen

        return NatsSink(
            settings.nats_url,
            settings.nats_good_subject if good else settings.nats_bad_subject,
            output,
            stream=settings.nats_stream,
            stream_subjects=[settings.nats_good_subject, settings.nats_bad_subject],
            ack_timeout_s=settings.sink_timeout_seconds,
        )
    from app.sinks.kafka import KafkaSink  # optional dependency: imported only when chosen

    return KafkaSink(
        settings.kafka_bootstrap_servers,
        settings.kafka_good_topic if good else settings.kafka_bad_topic,
        settings.kafka_producer_settings,
        settings.sink_timeout_seconds,
    )


def create_app(settings: Settings | None = None, sinks: tuple[Sink, Sink] | None = None) -> TrackingRoutes:
    """The whole service as one ASGI app. `sinks` (good, bad) replaces the configured ones, for an
    embedding host or an in-process test."""
    settings = settings or load_settings()
    registry = build_registry(settings)
    for uri in WARM_SCHEMAS:
        key = SchemaKey.parse(uri)
        if key is None or registry.validator(key) is None:
            raise RuntimeError(f"schemas folder {settings.schemas_dir} lacks {uri}")

    good, bad = sinks or build_sinks(settings)
    pipeline = Pipeline(settings, registry, good.name)
    metrics = Metrics()
    batcher = Batcher(
        good,
        bad,
        max_records=settings.batch_max_records,
        max_bytes=settings.batch_max_bytes,
        max_wait_s=settings.batch_max_wait_ms / 1000,
        inflight_max_records=settings.inflight_max_records,
        inflight_max_bytes=settings.inflight_max_bytes,
        metrics=metrics,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        follow_parent()
        batcher.start()
        # Every worker reports its sinks' health from the start, not only after a write; asking a
        # broker can take a while, so not on the event loop.
        await asyncio.to_thread(batcher.healthy)
        install_drain(settings.drain_seconds, batcher.mark_draining)
        try:
            yield
        finally:
            await batcher.close()
            metrics.close()
            registry.close()

    api = FastAPI(title="Snowplow-compatible collector", version=__version__, lifespan=lifespan)

    @api.get("/health", response_class=PlainTextResponse)
    async def health() -> str:
        """Liveness: the process serves."""
        return "ok"

    @api.get("/sink-health", response_class=PlainTextResponse)
    async def sink_health() -> PlainTextResponse:
        """Readiness: the sinks accept writes and the service is not shutting down."""
        if await asyncio.to_thread(batcher.healthy):  # a sink may ask its broker: not on the event loop
            return PlainTextResponse("ok")
        return PlainTextResponse("sink unavailable", status_code=503)

    @api.get("/metrics")
    async def prometheus() -> Response:
        """Prometheus text format, summed over every worker."""
        return Response(metrics.render(), media_type=metrics.content_type)

    @api.get("/robots.txt", response_class=PlainTextResponse)
    async def robots() -> str:
        return ROBOTS

    return TrackingRoutes(pipeline, batcher, api, metrics, settings)
