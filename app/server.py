"""The application factory: builds every stage once from Settings and wires them together."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, Response

from app import __version__
from app.batching import Batcher
from app.config import Settings, load_settings
from app.iglu import Registry, SchemaKey
from app.metrics import Metrics
from app.pipeline import Pipeline
from app.routes import TrackingRoutes
from app.shutdown import install_drain
from app.sinks.base import Sink
from app.sinks.fault import FaultSwitch
from app.sinks.file import FileSink

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


def build_sinks(settings: Settings) -> tuple[Sink, Sink]:
    sinks: list[Sink] = [
        FileSink(settings.data_dir / output, settings.file_rotate_bytes, settings.file_rotate_seconds)
        for output in ("good", "bad")
    ]
    if settings.fault_switch is not None:
        sinks = [FaultSwitch(sink, settings.fault_switch) for sink in sinks]
    return sinks[0], sinks[1]


def create_app(settings: Settings | None = None) -> TrackingRoutes:
    settings = settings or load_settings()
    registry = Registry(settings.schemas_dir)
    for uri in WARM_SCHEMAS:
        key = SchemaKey.parse(uri)
        if key is None or registry.validator(key) is None:
            raise RuntimeError(f"schemas folder {settings.schemas_dir} lacks {uri}")

    good, bad = build_sinks(settings)
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
        batcher.start()
        install_drain(settings.drain_seconds, batcher.mark_draining)
        try:
            yield
        finally:
            await batcher.close()
            metrics.close()

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
