"""The whole ASGI app in the test's own event loop: `create_app` with sinks that keep records in
memory, driven through httpx.ASGITransport after its lifespan has started. No process, no port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager

from app.config import Settings
from app.server import create_app
from app.sinks.base import Record

PEER = "203.0.113.9"  # a public address: not a trusted proxy


@dataclass
class MemorySink:
    """Keeps every record it is given; `failing` makes writes fail as a broker outage would."""

    name: str = "memory"
    records: list[Record] = field(default_factory=list)
    failing: bool = False

    def write(self, records: list[Record]) -> None:
        if self.failing:
            raise OSError("memory sink failing on purpose")
        self.records.extend(records)

    def healthy(self) -> bool:
        return not self.failing

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass

    def lines(self) -> list[dict[str, Any]]:
        return [orjson.loads(record.data) for record in self.records]


@dataclass
class Service:
    client: httpx.AsyncClient
    good: MemorySink
    bad: MemorySink


@asynccontextmanager
async def running(data_dir: Path, **settings: Any) -> AsyncIterator[Service]:
    """The app with these settings, its lifespan started, and a client talking to it."""
    good, bad = MemorySink(), MemorySink()
    app = create_app(Settings(data_dir=data_dir, drain_seconds=0, **settings), sinks=(good, bad))
    async with LifespanManager(app) as started:
        transport = httpx.ASGITransport(app=started.app, client=(PEER, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://collector.test") as client:
            yield Service(client, good, bad)


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
