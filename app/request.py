"""The HTTP request as the pipeline sees it: plain data, no framework types."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.schemas import SNOWPLOW

TP2_PATH = f"/{SNOWPLOW}/tp2"
REDIRECT_PATH = "/r/tp2"
PIXEL_PATHS = ("/i", "/ice.png", TP2_PATH)
STANDARD_ROUTES = (*PIXEL_PATHS, REDIRECT_PATH)


@dataclass(slots=True)
class CollectorRequest:
    method: str  # GET, HEAD or POST
    path: str  # the standard route this request was received on
    query_string: str  # raw, still percent-encoded
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", " (cookies with "; ")
    peer: str | None  # TCP peer address
    body: bytes = b""
    received_ms: int = 0
    hostname: str | None = field(default=None)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")
