"""HTTP ⇄ pipeline for the tracking paths: a lean ASGI handler, the hot path of the service.

The contract: docs/behaviour.md#routes, #limits and #cors.

Every tracker event passes through here, so this skips the framework's routing and
dependency injection; everything else (health, metrics, docs, 404s) falls through to FastAPI.
"""

from __future__ import annotations

import asyncio
import base64
import time
import zlib
from dataclasses import dataclass
from urllib.parse import quote

from starlette.types import ASGIApp, Receive, Scope, Send

from app.batching import Batcher, Overloaded, SinkUnavailable
from app.clock import now_ms
from app.metrics import Metrics
from app.micro.store import MicroStore
from app.pipeline import Pipeline
from app.redirect import check_target
from app.request import REDIRECT_PATH, STANDARD_ROUTES, TP2_PATH, CollectorRequest

Headers = list[tuple[bytes, bytes]]

PIXEL = base64.b64decode("R0lGODlhAQABAPAAAP///wAAACH5BAUAAAAALAAAAAABAAEAAAICRAEAOw==")
NO_CACHE = (b"cache-control", b"no-cache, no-store, must-revalidate")
PIXEL_HEADERS = [(b"content-type", b"image/gif"), NO_CACHE]
TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
URL_RESERVED = ":/?#[]@!$&'()*+,;=%~"  # left as they are in a Location header
# A refused body is read and thrown away before the answer, up to these bounds; past them the
# connection is closed with the rest unread.
DRAIN_SECONDS = 5.0
DRAIN_LIMITS = 4  # times the drop limit
ALLOWED_METHODS = {
    TP2_PATH: ("GET", "HEAD", "POST"),
    "/i": ("GET", "HEAD"),
    "/ice.png": ("GET", "HEAD"),
    REDIRECT_PATH: ("GET",),
}


class Rejected(Exception):
    """The request gets this 4xx answer and nothing is recorded."""

    body_unread = False  # the client is still sending a body: read it away before answering

    def __init__(self, status: int, message: str, headers: Headers | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or []


class ClientGone(Exception):
    """The client hung up before its request was complete: there is nobody to answer."""


@dataclass(frozen=True, slots=True)
class RouteSettings:
    """What the tracking routes read of the settings (the same names)."""

    custom_paths: dict[str, str]
    drop_payload_bytes: int
    max_request_line_bytes: int
    max_header_bytes: int
    retry_after_seconds: int
    redirect_enabled: bool
    redirect_domains: tuple[str, ...]
    cors_allowed_origins: tuple[str, ...]
    cors_extra_headers: tuple[str, ...]


class TrackingRoutes:
    def __init__(
        self,
        pipeline: Pipeline,
        batcher: Batcher,
        fallback: ASGIApp,
        metrics: Metrics,
        settings: RouteSettings,
        micro_store: MicroStore | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.micro_store = micro_store  # keeps the last events for the Micro API, when it is on
        self.batcher = batcher
        self.fallback = fallback
        self.metrics = metrics
        self.routes = {**{path: path for path in STANDARD_ROUTES}, **settings.custom_paths}
        self.drop_bytes = settings.drop_payload_bytes
        self.max_request_line = settings.max_request_line_bytes
        self.max_header_bytes = settings.max_header_bytes
        self.retry_after = str(settings.retry_after_seconds).encode()
        self.redirect_enabled = settings.redirect_enabled
        self.redirect_hosts = frozenset(settings.redirect_domains)
        self.allowed_origins = frozenset(settings.cors_allowed_origins)
        allowed_headers = ", ".join(["Content-Type", "SP-Anonymous", *settings.cors_extra_headers])
        self.preflight_headers = [
            (b"access-control-allow-headers", allowed_headers.encode("latin-1")),
            (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
            (b"access-control-max-age", b"3600"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.get(scope.get("path", "")) if scope["type"] == "http" else None
        if route is None:
            await self.fallback(scope, receive, send)
            return
        started = time.perf_counter()
        headers = _headers(scope)
        cors = self._cors(headers)
        try:
            status, response_headers, body = await self._track(scope, receive, route, headers, cors)
        except ClientGone:
            return
        except Rejected as rejected:
            if rejected.body_unread:
                await self._drain(receive)
            status, response_headers, body = rejected.status, cors + TEXT + rejected.headers, str(rejected).encode()
            if status == 413:  # the rest of the body was never read: the connection cannot be reused
                response_headers.append((b"connection", b"close"))
        length = str(len(PIXEL) if body is None else len(body)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": response_headers + [(b"content-length", length)],
            }
        )
        await send({"type": "http.response.body", "body": body or b""})
        self.metrics.request(route, status, time.perf_counter() - started)

    async def _track(
        self, scope: Scope, receive: Receive, route: str, headers: dict[str, str], cors: Headers
    ) -> tuple[int, Headers, bytes | None]:
        """(status, headers, body); a None body is HEAD's pixel: its length, no bytes."""
        method = scope["method"]
        self._check_sizes(scope)
        if route == REDIRECT_PATH and not self.redirect_enabled:
            raise Rejected(404, "redirects disabled")
        if method == "OPTIONS":
            return 200, cors + self.preflight_headers, b""
        if method not in ALLOWED_METHODS[route]:
            allow = ", ".join((*ALLOWED_METHODS[route], "OPTIONS")).encode()
            raise Rejected(405, f"{method} is not allowed on {scope['path']}", [(b"allow", allow)])
        body = await self._read_body(headers, receive) if method == "POST" else b""
        query_string = scope["query_string"].decode("latin-1")
        request = CollectorRequest(
            method=method,
            path=route,
            query_string=query_string,
            headers=headers,
            peer=scope["client"][0] if scope.get("client") else None,
            body=body,
            received_ms=now_ms(),
            hostname=headers.get("host"),
        )
        target = None
        if route == REDIRECT_PATH:
            target = self.pipeline.redirect_target(request)
            refused = check_target(target, self.redirect_hosts)
            if refused is not None:
                raise Rejected(400, refused.explain())

        if self.pipeline.may_block:  # a remote registry lookup must not stall every other request
            collected = await asyncio.to_thread(self.pipeline.collect, request)
        else:
            collected = self.pipeline.collect(request)
        try:
            await self.batcher.store(collected.good, collected.bad)
        except (Overloaded, SinkUnavailable) as why:
            return 503, cors + TEXT + [(b"retry-after", self.retry_after)], f"not stored, retry later: {why}".encode()
        self.metrics.stored(collected.outcomes, collected.anonymous)
        if self.micro_store is not None:  # beside the sink: what was acknowledged, as it was acknowledged
            self.micro_store.add(collected.observed)

        answer = list(cors)
        if collected.set_cookie:
            answer.append((b"set-cookie", collected.set_cookie.encode("latin-1")))
        if target is not None:
            return 302, answer + [(b"location", _location(target)), NO_CACHE], b""
        if method == "POST":
            return 200, answer + TEXT, b"ok"
        return 200, answer + PIXEL_HEADERS, None if method == "HEAD" else PIXEL

    def _check_sizes(self, scope: Scope) -> None:
        if len(scope.get("raw_path") or b"") + len(scope["query_string"]) > self.max_request_line:
            raise Rejected(414, f"path and query string longer than {self.max_request_line} bytes: nothing recorded")
        if sum(len(name) + len(value) for name, value in scope["headers"]) > self.max_header_bytes:
            raise Rejected(431, f"request headers larger than {self.max_header_bytes} bytes: nothing recorded")

    async def _read_body(self, headers: dict[str, str], receive: Receive) -> bytes:
        too_large = Rejected(413, f"request body larger than {self.drop_bytes} bytes: nothing recorded")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.drop_bytes:
            # With `Expect: 100-continue` the client sends nothing until told to: nothing to read away.
            too_large.body_unread = "100-continue" not in headers.get("expect", "").lower()
            raise too_large
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone  # a partial body is not a payload: record nothing
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.drop_bytes:
                too_large.body_unread = message.get("more_body", False)
                raise too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding == "gzip":
            return self._gunzip(body, too_large)
        if encoding not in ("identity", ""):
            raise Rejected(415, f"unsupported Content-Encoding {encoding}: send gzip or none")
        return body

    async def _drain(self, receive: Receive) -> None:
        """Read and discard the rest of a refused body, within DRAIN_LIMITS and DRAIN_SECONDS.
        Closing with unread bytes makes the kernel reset the connection: a client (or a proxy in
        front, which then answers 502 and counts the replica as failed) sees a broken pipe, not the 413."""

        async def read_away() -> None:
            left = DRAIN_LIMITS * self.drop_bytes
            while left > 0:
                message = await receive()
                if message["type"] == "http.disconnect" or not message.get("more_body", False):
                    return
                left -= len(message.get("body", b""))

        try:
            await asyncio.wait_for(read_away(), DRAIN_SECONDS)
        except TimeoutError:
            pass  # a client that trickles gets its answer anyway, and the connection is closed

    def _gunzip(self, body: bytes, too_large: Rejected) -> bytes:
        """Inflate every gzip member, holding the result to the drop limit: a zip bomb is a 413,
        not an out-of-memory."""
        inflated = b""
        rest = body
        while rest:
            inflater = zlib.decompressobj(wbits=31)
            try:
                inflated += inflater.decompress(rest, self.drop_bytes + 1 - len(inflated))
            except zlib.error as error:
                raise Rejected(400, f"body is not valid gzip: {error}") from None
            if len(inflated) > self.drop_bytes or inflater.unconsumed_tail:
                raise too_large
            if not inflater.eof:
                raise Rejected(400, "body is not valid gzip: truncated")
            rest = inflater.unused_data  # a second member follows (gzip allows several)
        return inflated

    def _cors(self, headers: dict[str, str]) -> Headers:
        origin = headers.get("origin", "").split(" ", 1)[0]
        if not origin or origin == "null":
            return [(b"access-control-allow-origin", b"*"), (b"access-control-allow-credentials", b"true")]
        if self.allowed_origins and origin.lower() not in self.allowed_origins:
            return []  # the browser will refuse to share the answer, and preflighted requests are not sent
        # Vary: a cache in front (a CDN) must not hand this answer to another origin.
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-credentials", b"true"),
            (b"vary", b"Origin"),
        ]


def _location(target: str) -> bytes:
    """The target as a header value: non-ASCII and control characters (no header injection) escaped."""
    return quote(target, safe=URL_RESERVED).encode("ascii")


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name in headers:
            value = headers[name] + ("; " if name == "cookie" else ", ") + value
        headers[name] = value
    return headers
