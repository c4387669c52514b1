"""The application factory: builds every stage once from Settings and wires them together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, Response

from app import __version__, build
from app.batching import Batcher
from app.config import Settings, load_settings
from app.metrics import Metrics
from app.micro.api import MicroService, MicroSettings
from app.routes import RouteSettings, TrackingRoutes
from app.shutdown import install_drain
from app.sinks.base import Sink
from app.wiring import build_pipeline, build_registry, build_sinks, check_schemas, settings_view
from app.worker_lifetime import follow_parent

ROBOTS = "User-agent: *\nDisallow: /\n"

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, sinks: tuple[Sink, Sink] | None = None) -> TrackingRoutes:
    """The whole service as one ASGI app. `sinks` (good, bad) replaces the configured ones, for an
    embedding host or an in-process test."""
    settings = settings or load_settings()
    registry = build_registry(settings)
    check_schemas(registry, enrichments=settings.enrichments_dir is not None)

    metrics = Metrics()
    good, bad = sinks or build_sinks(settings, metrics.spool)
    pipeline = build_pipeline(settings, registry, good.name, good.max_record_bytes, bad.max_record_bytes)
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
        log.info("pipeline %s", build.describe())
        batcher.start()
        # Every worker reports its sinks' health from the start, not only after a write; asking a
        # broker can take a while, so not on the event loop.
        await asyncio.to_thread(batcher.healthy)
        install_drain(settings.drain_seconds, batcher.mark_draining)
        if micro is not None:
            await micro.start()
        try:
            yield
        finally:
            if micro is not None:
                await micro.stop()
            await batcher.close()
            metrics.close()
            registry.close()

    api = FastAPI(title="Snowplow-compatible collector", version=__version__, lifespan=lifespan)

    @api.api_route("/health", methods=["GET", "HEAD"], response_class=PlainTextResponse)
    async def health() -> str:
        """Liveness: the process serves."""
        return "ok"

    @api.api_route("/sink-health", methods=["GET", "HEAD"], response_class=PlainTextResponse)
    async def sink_health() -> PlainTextResponse:
        """Readiness: the sinks accept writes and the service is not shutting down (docs/behaviour.md#routes)."""
        if await asyncio.to_thread(batcher.healthy):  # a sink may ask its broker: not on the event loop
            return PlainTextResponse("ok")
        return PlainTextResponse("sink unavailable", status_code=503)

    @api.get("/metrics")
    async def prometheus() -> Response:
        """Prometheus text format, summed over every worker."""
        await asyncio.to_thread(batcher.healthy)  # sink reachability as of this scrape, not the last probe
        return Response(metrics.render(), media_type=metrics.content_type)

    @api.get("/robots.txt", response_class=PlainTextResponse)
    async def robots() -> str:
        return ROBOTS

    # Snowplow Micro's API over the last events, when micro_events is set (app/micro/).
    micro = (
        MicroService(settings_view(MicroSettings, settings), api, pipeline, registry) if settings.micro_events else None
    )
    return TrackingRoutes(
        pipeline, batcher, api, metrics, settings_view(RouteSettings, settings), micro.store if micro else None
    )
