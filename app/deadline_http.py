"""HTTP requests with a total deadline, for the sinks and the remote Iglu registries.

The contract: docs/behaviour.md#sinks and #events (registry lookups).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

import httpx


class DeadlineClient:
    """An HTTP client whose every request ends by a deadline, whatever the server does.

    httpx's timeouts bound each read, so a server that trickles its answer a byte at a time could
    hold a request for ever. Here one connection at a time is used, its socket is noted when it
    opens, and a timer shuts that socket down at the deadline: the blocked read returns and the
    request fails like any broken connection.
    """

    def __init__(self, timeout_s: float, headers: dict[str, str] | None = None) -> None:
        self.client = httpx.Client(timeout=timeout_s, headers=headers, limits=httpx.Limits(max_connections=1))
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()  # one request at a time: the noted socket is the one in use

    def request(self, method: str, url: str, deadline_s: float, **kwargs: Any) -> httpx.Response:
        with self._lock:
            cut = threading.Event()
            timer = threading.Timer(deadline_s, self._cut, args=(cut,))
            timer.start()
            try:
                return self.client.request(method, url, extensions={"trace": self._note_socket}, **kwargs)
            except httpx.TransportError as error:
                if cut.is_set():  # cut by the deadline: say so, not "server disconnected"
                    raise httpx.TimeoutException(f"no complete answer within {deadline_s:.3g} s") from error
                raise
            finally:
                timer.cancel()

    def _note_socket(self, event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            self._socket = info["return_value"].get_extra_info("socket")

    def _cut(self, cut: threading.Event) -> None:
        cut.set()
        if self._socket is not None:
            with contextlib.suppress(OSError):  # already closed
                self._socket.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.client.close()
