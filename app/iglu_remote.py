"""Remote Iglu registries: static HTTP repositories and Iglu Server, asked in priority order.

A static repository serves `<base>/schemas/<vendor>/<name>/<format>/<version>`; an Iglu
Server serves `<base>/api/schemas/...` and may want an API key. Every request has a short
timeout: a registry that is down or slow costs one lookup, and the event fails as a
resolution error (a bad row), as it would in Snowplow.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
import orjson

from app.failures import Failure, RepositoryError, Result

ERROR_MESSAGE_CAP = 256  # the bad-row schema's limit


class RemoteRepository:
    def __init__(
        self, name: str, url: str, kind: Literal["static", "server"], api_key: str | None, timeout_s: float
    ) -> None:
        self.name = name
        self.base = url.rstrip("/") + ("/api/schemas" if kind == "server" else "/schemas")
        headers = {"apikey": api_key} if api_key else {}
        self.client = httpx.Client(timeout=timeout_s, headers=headers)

    def fetch(self, path: str) -> Result[dict[str, Any]]:
        """The schema, or a Failure with Iglu's error: NotFound, RepoFailure or ClientFailure."""
        try:
            response = self.client.get(f"{self.base}/{path}")
        except httpx.HTTPError as error:
            return _failure("RepoFailure", f"{type(error).__name__}: {error}")
        if response.status_code == 404:
            return Failure(RepositoryError(error="NotFound"))
        if response.status_code in (401, 403):
            return _failure("ClientFailure", f"HTTP {response.status_code}: check the API key")
        if not response.is_success:
            return _failure("RepoFailure", f"HTTP {response.status_code}")
        try:
            schema = orjson.loads(response.content)
        except orjson.JSONDecodeError as error:
            return _failure("RepoFailure", f"not JSON: {error}")
        if not isinstance(schema, dict):
            return _failure("RepoFailure", "not a JSON Schema object")
        return schema

    def close(self) -> None:
        self.client.close()


def _failure(kind: str, message: str) -> Failure:
    return Failure(RepositoryError(error=kind, message=message[:ERROR_MESSAGE_CAP]))
