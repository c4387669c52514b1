"""The stack's ceiling: a bare ASGI app on uvicorn that answers every request with the pixel.

It does nothing a collector must do (no parsing, no identity, no validation, no storage), so
its requests/s is what the server, the event loop and the HTTP parser cost on their own. It
runs with the same uvicorn settings as the service (see app/__main__.py): one worker, access
log off, proxy headers off, no server header.

    python bench/baseline.py --port 8081
"""

from __future__ import annotations

import argparse
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

PIXEL = base64.b64decode("R0lGODlhAQABAPAAAP///wAAACH5BAUAAAAALAAAAAABAAEAAAICRAEAOw==")
START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"image/gif"),
        (b"cache-control", b"no-cache, no-store, must-revalidate"),
        (b"content-length", str(len(PIXEL)).encode()),
    ],
}
BODY = {"type": "http.response.body", "body": PIXEL}


async def pixel(
    scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Callable[..., Awaitable[None]]
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = scope["method"] == "POST"
    while more:  # a request body is read to its end, as any real handler must
        more = (await receive()).get("more_body", False)
    await send(START)
    await send(BODY)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    uvicorn.run(
        pixel,
        host=args.host,
        port=args.port,
        workers=1,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
