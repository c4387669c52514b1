"""Remote Iglu registries: static HTTP repositories and Iglu Server, asked in priority order.

A static repository serves `<base>/schemas/<vendor>/<name>/<format>/<version>`; an Iglu
Server serves `<base>/api/schemas/...` and may want an API key. Every lookup has a total
deadline, however slowly a registry answers: a registry that is down or slow costs one lookup,
and the event fails as a resolution error (a bad row), as it would in Snowplow.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

import httpx
import orjson

from app.deadline_http import DeadlineClient
from app.failures import Failure, RepositoryError, Result

ERROR_MESSAGE_CAP = 256  # the bad-row schema's limit


class RemoteRepository:
    def __init__(
        self, name: str, url: str, kind: Literal["static", "server"], api_key: str | None, timeout_s: float
    ) -> None:
        self.name = name
        self.base = url.rstrip("/") + ("/api/schemas" if kind == "server" else "/schemas")
        self.headers = {"apikey": api_key} if api_key else {}
        self.timeout_s = timeout_s
        self._local = threading.local()  # one client per lookup thread: each request can be cut alone
        self._clients: list[DeadlineClient] = []
        self._clients_lock = threading.Lock()

    def _client(self) -> DeadlineClient:
        client: DeadlineClient | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = DeadlineClient(self.timeout_s, self.headers)
            with self._clients_lock:
                self._clients.append(client)
        return client

    def fetch(self, path: str, deadline_s: float) -> Result[dict[str, Any]]:
        """The schema, or a Failure with Iglu's error: NotFound, RepoFailure or ClientFailure,
        within `deadline_s` in all, however slowly the registry answers."""
        if deadline_s <= 0:
            return _failure("RepoFailure", "no time left for this registry within the lookup deadline")
        try:
            response = self._client().request("GET", f"{self.base}/{path}", deadline_s)
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
        with self._clients_lock:
            for client in self._clients:
                client.close()


def _failure(kind: str, message: str) -> Failure:
    return Failure(RepositoryError(error=kind, message=message[:ERROR_MESSAGE_CAP]))
