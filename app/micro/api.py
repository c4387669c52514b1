"""Snowplow Micro's REST API and the inspector page, over the Micro store
(docs/behaviour.md#snowplow-micro-api).

Served on the tracking port (`python -m app micro`, or behind a token), or on a port of its
own. The handlers are coroutines on purpose: the store is only ever touched from the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response

from app import schemas
from app.failures import Failure
from app.iglu import Registry, SchemaKey
from app.micro.query import Filters, QueryError, read_bad, read_events_query, read_good, select
from app.micro.store import MicroStore
from app.micro.views import Views
from app.pipeline import Pipeline

UI = Path(__file__).resolve().parent / "ui"
UI_FILES = {
    "inspector.js": "text/javascript; charset=utf-8",
    "inspector.css": "text/css; charset=utf-8",
}
UI_ROWS = 500  # rows the inspector shows at once: the newest, of however many are held


def _json(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status_code=status, media_type="application/json")


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise QueryError(f"the body is not JSON: {error}") from None


class MicroApi:
    """The handlers; `router()` lays them out under /micro."""

    def __init__(self, store: MicroStore, views: Views, registry: Registry, token: str | None) -> None:
        self.store, self.views, self.registry = store, views, registry
        self.expected = f"Bearer {token}".encode() if token is not None else None

    def router(self) -> APIRouter:
        data = APIRouter(prefix="/micro", dependencies=[Depends(self.authorised)], tags=["Snowplow Micro"])
        data.add_api_route("/all", self.summary, methods=["GET", "POST"])
        data.add_api_route("/reset", self.reset, methods=["GET", "POST"])
        data.add_api_route("/good", self.good, methods=["GET", "POST"])
        data.add_api_route("/bad", self.bad, methods=["GET", "POST"])
        data.add_api_route("/events", self.events, methods=["POST"])
        data.add_api_route("/iglu/{vendor}/{name}/jsonschema/{version}", self.iglu, methods=["GET"])
        data.add_api_route("/ui/rows", self.rows, methods=["GET"])
        data.add_api_route("/ui/events/{seq}", self.detail, methods=["GET"])
        page = APIRouter(prefix="/micro", tags=["Snowplow Micro"])  # static files: no data, no token
        page.add_api_route("/ui", self.inspector, methods=["GET"])
        page.add_api_route("/ui/{asset}", self.asset, methods=["GET"])
        page.add_api_route("/{path:path}", self.options, methods=["OPTIONS"], include_in_schema=False)
        router = APIRouter()
        router.include_router(data)
        router.include_router(page)
        return router

    async def authorised(self, request: Request) -> None:
        given = request.headers.get("authorization", "").encode()
        if self.expected is not None and not hmac.compare_digest(given, self.expected):
            raise HTTPException(
                401, "send Authorization: Bearer <COLLECTOR_MICRO_TOKEN>", {"WWW-Authenticate": "Bearer"}
            )

    async def summary(self) -> Response:
        """How many events are held: {total, good, bad}."""
        return _json(self.store.summary())

    async def reset(self) -> Response:
        """Forget every held event."""
        self.store.reset()
        return _json(self.store.summary())

    async def good(self, request: Request) -> Response:
        """Good events, newest first; POST filters: event_type, schema, contexts, limit (Micro's),
        event_id, app_id, text, timeRange (ours)."""
        try:
            filters, limit = (
                read_good(await _body(request)) if request.method == "POST" else (Filters(valid=True), None)
            )
        except QueryError as error:
            return _json({"error": str(error)}, 400)
        found = select(self.store.newest_first(), filters, self.views, limit)
        return _json([self.views.good_event(entry) for entry in found])

    async def bad(self, request: Request) -> Response:
        """Bad events, newest first; POST filters: vendor, version, limit (Micro's), event_id,
        app_id, text, timeRange (ours)."""
        try:
            filters, limit = (
                read_bad(await _body(request)) if request.method == "POST" else (Filters(valid=False), None)
            )
        except QueryError as error:
            return _json({"error": str(error)}, 400)
        found = select(self.store.newest_first(), filters, self.views, limit)
        return _json([self.views.bad_event(entry) for entry in found])

    async def events(self, request: Request) -> Response:
        """A page of good and bad events: filters by atomic field, validity, time range; sorting."""
        try:
            query = read_events_query(await _body(request))
        except QueryError as error:
            return _json({"error": str(error)}, 400)
        found = list(select(self.store.newest_first(), query.filters, self.views))
        if query.sort_column != "collector_tstamp" or not query.descending:
            column = query.sort_column
            found.sort(key=lambda entry: _sort_key(self.views.canonical(entry)[column]), reverse=query.descending)
        start = (query.page - 1) * query.page_size
        # Micro's EventsResponse: the canonical events themselves, then totalPages (at least 1) and
        # totalItems. A failed event's errors are in /micro/bad, which finds it by event_id.
        return _json(
            {
                "events": [self.views.canonical(entry) for entry in found[start : start + query.page_size]],
                "totalPages": max(1, math.ceil(len(found) / query.page_size)),
                "totalItems": len(found),
            }
        )

    async def iglu(self, vendor: str, name: str, version: str) -> Response:
        """The schema as this collector resolves it (local folder, then remote registries)."""
        key = SchemaKey.parse(schemas.uri(name, version, vendor))
        if key is None:
            return _json(
                {"error": "expected /micro/iglu/{vendor}/{name}/jsonschema/{model}-{revision}-{addition}"}, 400
            )
        schema = self.registry.schema(key)
        tried: dict[str, Any] = {"local schemas": {"errors": [{"error": "NotFound"}], "attempts": 1}}
        path = f"{key.vendor}/{key.name}/{key.format}/{key.version}"
        for remote in self.registry.remotes if schema is None else ():
            fetched = await asyncio.to_thread(remote.fetch, path)
            if not isinstance(fetched, Failure):
                schema = fetched
                break
            tried[remote.name] = {"errors": [fetched.message], "attempts": 1}
        return _json(schema) if schema is not None else _json({"value": tried}, 404)

    async def rows(
        self,
        after: int = 0,
        valid: bool | None = None,
        type: str | None = None,
        app_id: str | None = None,
        text: str | None = None,
    ) -> Response:
        """The inspector's table: the newest rows matching its filters, after `after` only."""
        filters = Filters(valid=valid, kind=type or None, app_id=app_id or None, text=text or None, after_seq=after)
        matching = select(self.store.newest_first(), filters, self.views, UI_ROWS)
        return _json(
            {
                "rows": [self.views.row(entry) for entry in matching],
                "lastSeq": self.store.last_seq,
                "resets": self.store.resets,
                "summary": self.store.summary(),
            }
        )

    async def detail(self, seq: int) -> Response:
        """One held record in full: the enriched event, its entities, and for a bad one its failures."""
        entry = self.store.find(seq)
        if entry is None:
            return _json({"error": f"event {seq} is no longer held"}, 404)
        return _json(self.views.detail(entry))

    async def options(self) -> Response:
        """Micro answers OPTIONS on its paths with a plain 200."""
        return Response(status_code=200)

    async def inspector(self) -> Response:
        """The live inspector page."""
        return Response((UI / "index.html").read_bytes(), media_type="text/html; charset=utf-8")

    async def asset(self, asset: str) -> Response:
        if asset not in UI_FILES:
            raise HTTPException(404, f"no {asset} here")
        return Response((UI / asset).read_bytes(), media_type=UI_FILES[asset])


def _sort_key(value: Any) -> tuple[bool, Any]:
    """Nulls last (first when descending), numbers as numbers, everything else as text."""
    return (value is not None, value if isinstance(value, (int, float)) else str(value or ""))


class _SidePortServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the main server owns the signals and stops this one from its lifespan


@dataclass(frozen=True, slots=True)
class MicroSettings:
    """What the Micro API reads of the settings (the same names); on only when micro_events > 0."""

    host: str
    micro_events: int
    micro_port: int | None
    micro_token: str | None
    micro_on_tracking_port: bool


class MicroService:
    """The store, and where its API is served: a router on the main app, or a port of its own."""

    def __init__(self, settings: MicroSettings, api: FastAPI, pipeline: Pipeline, registry: Registry) -> None:
        self.store = MicroStore(settings.micro_events)
        views = Views(pipeline.badrows, pipeline.enricher.v_collector)
        router = MicroApi(self.store, views, registry, settings.micro_token).router()
        self._side: _SidePortServer | None = None
        self._task: asyncio.Task[None] | None = None
        if settings.micro_port is None:
            api.include_router(router)
            if settings.micro_on_tracking_port:  # a local test collector answers pages on any origin, as Micro does
                api.add_middleware(
                    CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"], allow_headers=["*"]
                )
        else:
            side_app = FastAPI(title="Snowplow Micro API", docs_url=None, redoc_url=None, openapi_url=None)
            side_app.include_router(router)
            config = uvicorn.Config(
                side_app,
                host=settings.host,
                port=settings.micro_port,
                log_config=None,
                lifespan="off",
                access_log=False,
            )
            self._side = _SidePortServer(config)

    async def start(self) -> None:
        if self._side is None:
            return
        self._task = asyncio.create_task(self._side.serve(), name="micro-port")
        while not self._side.started:  # start-up, not a timing: it either listens or ends
            if self._task.done():
                raise RuntimeError(f"the Micro API could not listen on port {self._side.config.port}")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._side is not None and self._task is not None:
            self._side.should_exit = True
            await self._task
