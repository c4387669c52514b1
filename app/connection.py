"""HTTP/1.1 connections with bounds: sizes enforced while the request head is read, timeouts, a cap.

The contract: docs/behaviour.md#limits.

httptools (under uvicorn) applies no limit to a request line or its headers, and a connection
may stay silent or trickle bytes for as long as it likes. This protocol counts as it reads, so a
request that breaks a limit costs what was read up to the limit, never more:

- the request target longer than `max_request_line_bytes`: 414, connection closed;
- header names and values over `max_header_bytes` in all: 431, connection closed; the raw bytes
  of an unfinished head are capped too (limits + one read), so neither one endless header line
  nor millions of short ones are ever held whole;
- the head must arrive within `header_timeout_seconds` of the connection or of its first byte
  after an idle keep-alive wait (`idle_timeout_seconds`), and the body within
  `body_timeout_seconds` of the head: else the connection is closed (a 408 if it sent a part);
- past `max_connections` open connections (never more than the file descriptors allow), a new
  one is closed at once, so idle clients cannot take every descriptor;
- on shutdown, a connection still sending its request is closed: nothing of it was acknowledged.
"""

from __future__ import annotations

import asyncio
import resource
from dataclasses import dataclass
from functools import cache

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config import load_settings

# asyncio reads up to 256 KiB at a time: a read holding the end of a head may carry that much body.
READ_SLACK_BYTES = 256 * 1024
# After refusing a request, what the client still sends is read and dropped this long.
LINGER_SECONDS = 2.0
# Descriptors kept for files, sinks and sockets other than client connections.
RESERVED_DESCRIPTORS = 64


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """What one connection may send, and how slowly (built from the settings by app/wiring.py)."""

    max_request_line: int
    max_header: int
    header_timeout_s: float
    body_timeout_s: float
    max_connections: int


def raise_descriptor_limit() -> int:
    """Lift the soft limit on open files to the hard one (often 1024 → 1M): what one may open."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1024 * 1024)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


@cache
def _limits() -> ConnectionLimits:
    """Read once per worker process, from the same environment the application's settings come from
    (uvicorn builds this protocol by name, so it cannot be handed the limits)."""
    from app.wiring import connection_limits  # the wiring imports this module: not at the top

    return connection_limits(load_settings())


def _answer(status: int, reason: str, message: str) -> bytes:
    body = message.encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, counting and timing what each request sends."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.limits = _limits()
        self._reading_head = True  # between requests too: the next bytes are a head
        self._head_bytes = 0
        self._url_bytes = 0
        self._header_bytes = 0
        self._refused = False
        self._timer: asyncio.TimerHandle | None = None

    # --- connection ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refused = True
            transport.abort()  # no answer: nothing was asked yet, and the descriptor is freed now
            return
        self._arm(self.limits.header_timeout_s, self._head_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._reading_head:
            if self._timer is None:  # the first byte after an idle keep-alive wait
                self._arm(self.limits.header_timeout_s, self._head_too_slow)
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_request_line + self.limits.max_header + READ_SLACK_BYTES:
                self._refuse_head()
                return
        super().data_received(data)

    def shutdown(self) -> None:
        if self.cycle is not None and not self._reading_head and self.cycle.more_body:
            self._close()  # still sending its body: not acknowledged, and it must not hold the exit
            return
        super().shutdown()

    # --- parser callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._url_bytes = self._header_bytes = 0

    def on_url(self, url: bytes) -> None:
        if self._refused:
            return
        self._url_bytes += len(url)
        if self._url_bytes > self.limits.max_request_line:
            self._refuse(414, "URI Too Long", f"path and query string longer than {self.limits.max_request_line}")
            return
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refused:
            return
        self._header_bytes += len(name) + len(value)
        if self._header_bytes > self.limits.max_header:
            self._refuse_head()
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._reading_head = False
        self._arm(self.limits.body_timeout_s, self._body_too_slow)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._disarm()
        self._reading_head = True
        self._head_bytes = 0
        super().on_message_complete()

    # --- refusing -----------------------------------------------------------------------------

    def _refuse_head(self) -> None:
        # A long target is refused by on_url as it arrives (one read is less than the slack): here,
        # the headers are what is too large.
        message = f"request headers larger than {self.limits.max_header}"
        self._refuse(431, "Request Header Fields Too Large", message)

    def _refuse(self, status: int, reason: str, message: str) -> None:
        """Answer, then read and drop what the client is still sending for a moment before closing:
        closing with unread bytes makes the kernel reset the connection, and the client may never
        read the answer."""
        self._refused = True
        self._disarm()
        self.transport.write(_answer(status, reason, f"{message} bytes: nothing recorded"))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._timer = self.loop.call_later(LINGER_SECONDS, self._close)

    def _close(self) -> None:
        self._refused = True
        self._disarm()
        if not self.transport.is_closing():
            self.transport.close()

    def _head_too_slow(self) -> None:
        self._timer = None
        if self._head_bytes:
            self.transport.write(_answer(408, "Request Timeout", "request head not received in time"))
        self._close()

    def _body_too_slow(self) -> None:
        self._timer = None
        self._close()  # the application sees the client gone and records nothing

    def _arm(self, seconds: float, handler: object) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, handler)  # type: ignore[arg-type]

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
