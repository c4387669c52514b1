"""HTTP ⇄ pipeline for the tracking paths: a lean ASGI handler, the hot path of the service.

Every tracker event passes through here, so this skips the framework's routing and
dependency injection; everything else (health, docs, 404s) falls through to FastAPI.
"""

from __future__ import annotations

import base64
import logging
from typing import Any, Awaitable, Callable

from app.batching import Batcher, Overloaded, SinkUnavailable
from app.clock import now_ms
from app.metrics import Metrics
from app.pipeline import Pipeline
from app.request import PIXEL_PATHS, TP2_PATH, CollectorRequest

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PIXEL = base64.b64decode("R0lGODlhAQABAPAAAP///wAAACH5BAUAAAAALAAAAAABAAEAAAICRAEAOw==")
PIXEL_HEADERS = [
    (b"content-type", b"image/gif"),
    (b"cache-control", b"no-cache, no-store, must-revalidate"),
]
TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
PREFLIGHT_HEADERS = [
    (b"access-control-allow-headers", b"Content-Type, SP-Anonymous"),
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-max-age", b"3600"),
]


class TooLarge(Exception):
    pass


class TrackingRoutes:
    def __init__(
        self,
        pipeline: Pipeline,
        batcher: Batcher,
        fallback: ASGIApp,
        metrics: Metrics,
        *,
        drop_bytes: int,
        retry_after_s: int,
    ) -> None:
        self.pipeline = pipeline
        self.metrics = metrics
        self.batcher = batcher
        self.fallback = fallback
        self.drop_bytes = drop_bytes
        self.retry_after = str(retry_after_s).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in PIXEL_PATHS:
            await self.fallback(scope, receive, send)
            return
        headers = _headers(scope)
        cors = _cors(headers)
        method = scope["method"]
        path = scope["path"]
        if method == "OPTIONS":
            await self._respond(send, path, 200, cors + PREFLIGHT_HEADERS, b"")
            return
        if method not in ("GET", "HEAD") and not (method == "POST" and path == TP2_PATH):
            allow = b"GET, HEAD, POST, OPTIONS" if path == TP2_PATH else b"GET, HEAD, OPTIONS"
            await self._respond(send, path, 405, cors + TEXT + [(b"allow", allow)], f"{method} is not allowed on {path}".encode())
            return
        body = b""
        if method == "POST":
            try:
                body = await self._read_body(headers, receive)
            except TooLarge:
                message = f"request body larger than {self.drop_bytes} bytes: nothing recorded".encode()
                await self._respond(send, path, 413, cors + TEXT + [(b"connection", b"close")], message)
                return
        client = scope.get("client")
        request = CollectorRequest(
            method=method,
            path=path,
            query_string=scope["query_string"].decode("latin-1"),
            headers=headers,
            peer=client[0] if client else None,
            body=body,
            received_ms=now_ms(),
            hostname=headers.get("host"),
        )
        collected = self.pipeline.collect(request)
        try:
            await self.batcher.store(collected.good, collected.bad)
        except (Overloaded, SinkUnavailable) as why:
            message = f"not stored, retry later: {why}".encode()
            await self._respond(send, path, 503, cors + TEXT + [(b"retry-after", self.retry_after)], message)
            return
        self.metrics.stored(collected.outcomes, collected.anonymous)
        response_headers = list(cors)
        if collected.set_cookie:
            response_headers.append((b"set-cookie", collected.set_cookie.encode("latin-1")))
        if method == "POST":
            await self._respond(send, path, 200, response_headers + TEXT, b"ok")
        else:
            await self._respond(send, path, 200, response_headers + PIXEL_HEADERS, b"" if method == "HEAD" else PIXEL, len(PIXEL))

    async def _respond(
        self, send: Send, path: str, status: int, headers: list[tuple[bytes, bytes]], body: bytes, length: int | None = None
    ) -> None:
        self.metrics.request(path, status)
        await _respond(send, status, headers, body, length)

    async def _read_body(self, headers: dict[str, str], receive: Receive) -> bytes:
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.drop_bytes:
            raise TooLarge
        chunks = []
        size = 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.drop_bytes:
                raise TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name in headers:
            value = headers[name] + ("; " if name == "cookie" else ", ") + value
        headers[name] = value
    return headers


def _cors(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    origin = headers.get("origin", "").split(" ", 1)[0]
    allow = origin.encode("latin-1") if origin and origin != "null" else b"*"
    return [(b"access-control-allow-origin", allow), (b"access-control-allow-credentials", b"true")]


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, length: int | None) -> None:
    size = str(len(body) if length is None else length).encode()
    await send({"type": "http.response.start", "status": status, "headers": headers + [(b"content-length", size)]})
    await send({"type": "http.response.body", "body": body})
