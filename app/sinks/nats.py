"""NATS JetStream: publish each record to a subject and wait for the stream's acknowledgement.

Each record carries `Nats-Msg-Id: <output>:<record id>`, so when a tracker retries a request
whose first attempt was stored but not acknowledged, JetStream drops the duplicate (within
the stream's duplicate window, two minutes by default).

nats-py is asyncio-only; the batcher calls sinks from worker threads. So the client lives on
an event loop of its own, in a thread of its own, and `write` waits on it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass

import nats
from nats.aio.client import Client
from nats.errors import MaxPayloadError
from nats.js import JetStreamContext
from nats.js.errors import APIError, BadRequestError, NotFoundError

from app.logs import Throttled
from app.redact import safe_urls
from app.sinks.base import Record, Refused

log = logging.getLogger(__name__)
RECONNECT_WAIT_S = 1.0
DEFAULT_MAX_PAYLOAD = 1024 * 1024  # nats-server's default, assumed until the server has said its own
HEADERS_ROOM = 256  # the server counts the Nats-Msg-Id header against max_payload too
MESSAGE_TOO_LARGE = 10054  # JetStream: the message exceeds the stream's max_msg_size


@dataclass(frozen=True, slots=True)
class NatsSettings:
    """What the nats sink reads of the settings (the same names)."""

    nats_url: str
    nats_good_subject: str
    nats_bad_subject: str
    nats_stream: str | None
    sink_timeout_seconds: float


def build(settings: NatsSettings, output: str) -> NatsSink:
    return NatsSink(
        settings.nats_url,
        settings.nats_good_subject if output == "good" else settings.nats_bad_subject,
        output,
        stream=settings.nats_stream,
        stream_subjects=[settings.nats_good_subject, settings.nats_bad_subject],
        ack_timeout_s=settings.sink_timeout_seconds,
    )


class NatsSink:
    name = "nats"

    def __init__(
        self,
        url: str,
        subject: str,
        output: str,
        *,
        stream: str | None,
        stream_subjects: list[str],
        ack_timeout_s: float,
    ) -> None:
        self.url = url
        self.subject = subject
        self.output = output
        self.stream = stream
        self.stream_subjects = stream_subjects
        self.ack_timeout_s = ack_timeout_s
        self._client: Client | None = None
        self._jetstream: JetStreamContext | None = None
        self._failing = True  # until JetStream has confirmed a stream takes the subject: not ready
        self._trouble = Throttled(log)  # nats-py retries every second while the server is away
        self._stream_limit: int | None = None  # the stream's own max_msg_size, when it sets one
        self._too_large = False  # the stream refused a record of the batch being written as too large
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"nats-{output}", daemon=True)
        self._thread.start()
        self._connecting = asyncio.run_coroutine_threadsafe(self._connect(), self._loop)

    async def _connect(self) -> None:
        """Connect, then nats-py reconnects by itself. With unlimited reconnect attempts nats-py
        also keeps retrying the first connection; the loop covers errors it gives up on."""
        while True:
            try:
                client = await nats.connect(
                    [server.strip() for server in self.url.split(",")],
                    connect_timeout=2,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=RECONNECT_WAIT_S,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnect,
                    reconnected_cb=self._on_reconnect,
                )
            except Exception as error:  # nats-py raises several unrelated types for an absent server
                self._trouble(logging.WARNING, "nats %s not reachable yet: %s", self.output, error)
                await asyncio.sleep(RECONNECT_WAIT_S)
                continue
            jetstream = client.jetstream(timeout=self.ack_timeout_s)
            try:
                if self.stream:
                    await self._ensure_stream(jetstream)
                else:
                    await self._report_missing_stream(jetstream)
            except Exception as error:  # JetStream off, or no answer yet: start over, leak nothing
                self._trouble(logging.WARNING, "nats %s: stream %s not ready: %s", self.output, self.stream, error)
                await client.close()
                await asyncio.sleep(RECONNECT_WAIT_S)
                continue
            self._stream_limit = await self._stream_max_msg_size(jetstream)
            self._client, self._jetstream = client, jetstream
            log.info("nats %s connected", self.output)
            self._trouble.clear()
            return

    async def _ensure_stream(self, jetstream: JetStreamContext) -> None:
        try:
            await jetstream.add_stream(name=self.stream, subjects=self.stream_subjects)
        except BadRequestError as error:  # it exists with another configuration: the operator's choice wins
            log.info("nats stream %s kept as configured: %s", self.stream, error)

    async def _report_missing_stream(self, jetstream: JetStreamContext) -> None:
        """Without COLLECTOR_NATS_STREAM the stream must exist: say so at start, not on the first event.
        Readiness stays 503 until it does (see `healthy`)."""
        try:
            await jetstream.find_stream_name_by_subject(self.subject)
        except NotFoundError:
            log.error(
                "nats %s: no JetStream stream takes subject %s: every event will get a 503 until one does; "
                "create it, or set COLLECTOR_NATS_STREAM to have the collector create it",
                self.output,
                self.subject,
            )

    async def _stream_max_msg_size(self, jetstream: JetStreamContext) -> int | None:
        """The limit of the stream that takes this subject, which may be below the server's."""
        try:
            name = await jetstream.find_stream_name_by_subject(self.subject)
            size = (await jetstream.stream_info(name)).config.max_msg_size
        except Exception:  # no stream for the subject yet, or no answer: the server's limit holds
            return None
        return size if size is not None and size > 0 else None

    async def _on_error(self, error: Exception) -> None:
        self._trouble(logging.WARNING, "nats %s: %s", self.output, error)
        if _too_large(error) and self._jetstream is not None:
            # nats-py reports this refusal of an async publish here, and leaves its ack to time out.
            self._too_large = True
            self._stream_limit = await self._stream_max_msg_size(self._jetstream)  # sized for it from now on

    async def _on_reconnect(self) -> None:
        if self._trouble.clear():
            log.info("nats %s reconnected", self.output)

    async def _on_disconnect(self) -> None:
        self._trouble(logging.WARNING, "nats %s disconnected; reconnecting", self.output)

    async def _publish(self, records: list[Record]) -> None:
        if self._jetstream is None or self._client is None or not self._client.is_connected:
            raise ConnectionError(f"nats {safe_urls(self.url)} not connected")
        limit = self.max_record_bytes()
        too_big = sum(len(record.data) > limit for record in records)
        if too_big:  # checked before any is published, so a refused batch is refused whole
            raise MaxPayloadError(f"{too_big} records larger than the server's limit of {limit} bytes")
        acks = [
            await self._jetstream.publish_async(
                self.subject, record.data, headers={"Nats-Msg-Id": f"{self.output}:{record.id}"}
            )
            for record in records
        ]
        await asyncio.wait_for(asyncio.gather(*acks), self.ack_timeout_s)

    def write(self, records: list[Record]) -> None:
        if not records:
            return
        future = asyncio.run_coroutine_threadsafe(self._publish(records), self._loop)
        try:
            future.result(self.ack_timeout_s + 1)
        except MaxPayloadError as error:  # sized for a larger limit (the server's shrank): never fits
            raise Refused(f"nats {self.output}: {error}") from error
        except Exception as error:  # a broker error, or no acknowledgement in time
            if self._too_large or _too_large(error):  # the stream's limit shrank below a record
                self._too_large = False
                raise Refused(f"nats {self.output}: a record exceeds the stream's max_msg_size") from error
            future.cancel()
            self._failing = True
            raise OSError(f"nats {self.output}: {type(error).__name__}: {error}") from error
        self._failing = False

    def healthy(self) -> bool:
        connected = self._client is not None and self._client.is_connected
        if connected and self._failing and self._jetstream is not None:
            # Connected is not enough (JetStream may be off, the stream gone): ask JetStream whether
            # a stream takes this subject.
            probe = asyncio.run_coroutine_threadsafe(
                self._jetstream.find_stream_name_by_subject(self.subject), self._loop
            )
            try:
                probe.result(self.ack_timeout_s)
                self._failing = False
            except Exception:  # any failure to answer means not ready yet
                probe.cancel()
        return connected and not self._failing

    def max_record_bytes(self) -> int:
        """The connected server's max_payload (it may differ per server and change on reconnect)."""
        client = self._client  # while reconnecting, the last server's word still holds
        limit = client.max_payload if client is not None else DEFAULT_MAX_PAYLOAD
        if self._stream_limit is not None:
            limit = min(limit, self._stream_limit)
        return limit - HEADERS_ROOM

    def tick(self) -> None:
        pass

    def close(self) -> None:
        self._connecting.cancel()
        if self._client is not None:
            done = asyncio.run_coroutine_threadsafe(self._client.drain(), self._loop)
            try:
                done.result(5)
            except Exception as error:
                log.warning("nats %s did not drain cleanly: %s", self.output, error)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def _too_large(error: BaseException) -> bool:
    return isinstance(error, APIError) and error.err_code == MESSAGE_TOO_LARGE
