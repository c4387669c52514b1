"""The whole ASGI app in the test's own event loop: `create_app` with sinks that keep records in
memory (app/sinks/memory.py), driven through httpx.ASGITransport after its lifespan has started.
No process, no port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.config import Settings
from app.server import create_app
from app.sinks.memory import MemorySink

PEER = "203.0.113.9"  # a public address: not a trusted proxy


@dataclass
class Service:
    client: httpx.AsyncClient
    good: MemorySink
    bad: MemorySink
    app: Any  # the ASGI app itself, for what an HTTP client cannot do (hang up mid-body)


@dataclass
class Answer:
    status: int | None  # None: nothing was sent
    headers: dict[str, str]
    body: bytes
    received: int  # how many times the app asked for more of the request


async def call_asgi(
    app: Any, method: str, path: str, query: bytes = b"", headers: Any = (), chunks: Any = (b"",), hang_up: bool = False
) -> Answer:
    """One request straight into the ASGI app, as uvicorn hands it over: raw_path without the query,
    the body in `chunks`, then (with hang_up) a disconnect instead of the body's end."""
    messages: list[dict[str, Any]] = [{"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks]
    if not hang_up:
        del messages[-1]["more_body"]  # the last part: more_body is left out, as it may be (False by default)
    arriving = iter(messages)
    received = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        return next(arriving, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
        "client": (PEER, 50000),
    }
    await app(scope, receive, send)
    start = next((message for message in sent if message["type"] == "http.response.start"), None)
    return Answer(
        status=start["status"] if start else None,
        headers={name.decode(): value.decode() for name, value in start["headers"]} if start else {},
        body=b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body"),
        received=received,
    )


@asynccontextmanager
async def running(data_dir: Path, **settings: Any) -> AsyncIterator[Service]:
    """The app with these settings, its lifespan started, and a client talking to it."""
    good, bad = MemorySink(), MemorySink()
    app = create_app(Settings(data_dir=data_dir, drain_seconds=0, **settings), sinks=(good, bad))
    async with LifespanManager(app) as started:
        transport = httpx.ASGITransport(app=started.app, client=(PEER, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://collector.test") as client:
            yield Service(client, good, bad, app)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def configured(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Callable[..., Awaitable[Service]]]:
    """`await configured(**settings)`: the app with these settings, its sinks emptied and working.

    Building an app compiles its schemas (~0.1 s), so each module builds one per distinct set of
    settings and its tests share it; all of them stop together, in the reverse order of their start."""
    apps: dict[str, Service] = {}
    async with AsyncExitStack() as stack:

        async def app_with(**settings: Any) -> Service:
            key = repr(sorted(settings.items()))
            if key not in apps:
                apps[key] = await stack.enter_async_context(running(tmp_path_factory.mktemp("data"), **settings))
            service = apps[key]
            for sink in (service.good, service.bad):
                sink.records.clear()
                sink.failing = False
            return service

        yield app_with


@pytest.fixture
async def service(configured: Callable[..., Awaitable[Service]]) -> Service:
    """The app on its default settings."""
    return await configured()
