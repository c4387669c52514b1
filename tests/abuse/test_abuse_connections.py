"""Slow and idle clients against the real server: timeouts, the connection cap, bodies in flight, shutdown.

Direct only: nginx in front buffers whole requests and keeps its own timeouts, so it never hands the
collector a slow client (deploy/nginx.conf); these are the collector's own bounds, with no proxy.
"""

from __future__ import annotations

import socket
import subprocess

import httpx
import orjson
import pytest
from abuse_support import answer_of

from tests.integration.http_support import JSON, TP2, page_view, payload_data, wait_until

QUICK = {
    "COLLECTOR_HEADER_TIMEOUT_SECONDS": "0.5",
    "COLLECTOR_BODY_TIMEOUT_SECONDS": "0.5",
    "COLLECTOR_IDLE_TIMEOUT_SECONDS": "1",
}


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=15)


def post_head(length: int) -> bytes:
    return (
        f"POST {TP2} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n".encode()
    )


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (b"", 0),  # connected, said nothing: closed
        (b"GET /i?e=pv HTTP/1.1\r\nHost: x\r\n", 408),  # a head that never ends
        (post_head(1000) + b'{"schema":', 0),  # a body that never ends: closed, nothing stored
    ],
    ids=["idle", "slow head", "slow body"],
)
def test_silent_and_slow_clients_are_closed(collector_factory, sent: bytes, expected: int):
    collector = collector_factory(env=QUICK)
    with connect(collector.port) as sock:  # the socket's own 15 s timeout fails the test if never closed
        sock.sendall(sent)
        status, _ = answer_of(sock)
    assert status == expected
    assert collector.good() == [] and collector.bad() == []


def test_an_idle_keep_alive_connection_is_closed(collector_factory):
    collector = collector_factory(env=QUICK)
    with connect(collector.port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _ = answer_of(sock)
        assert status == 200
        assert sock.recv(1) == b""  # then closed once idle, not kept for ever


def test_connections_past_the_cap_are_closed_at_once(collector_factory):
    collector = collector_factory(env={"COLLECTOR_MAX_CONNECTIONS": "20"})
    idle = [connect(collector.port) for _ in range(20)]
    try:
        with connect(collector.port) as refused:
            assert answer_of(refused) == (0, b"")  # closed without an answer
        idle.pop().close()
        # A slot is free again: ordinary clients are served (polled, since the close is asynchronous).
        for _ in range(100):
            try:
                if httpx.get(f"{collector.url}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                continue
        else:
            raise AssertionError("no client served after a connection was freed")
    finally:
        for sock in idle:
            sock.close()


def inflight_bytes(url: str) -> float:
    [line] = [
        line for line in httpx.get(f"{url}/metrics").text.splitlines() if line.startswith("collector_inflight_bytes")
    ]
    return float(line.split()[-1])


def test_bodies_being_received_count_against_the_in_flight_bound(collector_factory):
    """300 unfinished 2 MB bodies took the RSS to 634 MB: bodies were outside the in-flight bound."""
    bound = 1024 * 1024
    collector = collector_factory(env={"COLLECTOR_INFLIGHT_MAX_BYTES": str(bound)})
    with connect(collector.port) as first, connect(collector.port) as second:
        first.sendall(post_head(600_000) + b"x" * 599_999)  # one byte short: held, unfinished
        wait_until(lambda: inflight_bytes(collector.url) >= 599_999)  # the server holds it
        # The second body crosses the bound with its last byte sent, so the server has read all of it.
        second.sendall(post_head(600_000) + b"x" * (bound - 599_999 + 1))
        status, answer = answer_of(second)
        assert status == 503 and b"retry-after" in answer.lower()
    event = page_view()  # both gone: their bytes are released
    assert httpx.post(collector.url + TP2, content=orjson.dumps(payload_data(event)), headers=JSON).status_code == 200


def test_a_slow_client_does_not_hold_up_shutdown(collector_factory):
    collector = collector_factory()  # default timeouts: a minute for a body
    with connect(collector.port) as slow:
        slow.sendall(post_head(10_000) + b'{"schema":')
        assert httpx.get(f"{collector.url}/health").status_code == 200  # the slow request is in
        try:
            assert collector.stop(timeout=15) == 0
        except subprocess.TimeoutExpired:
            raise AssertionError("the service did not stop while a client was still sending") from None
    assert collector.good() == [] and collector.bad() == []


def test_a_503_names_no_server_path(collector_factory, tmp_path):
    """A sink failure's 503 quoted the failing file's path to any client."""
    switch = tmp_path / "secret-folder" / "switch"
    switch.parent.mkdir()
    switch.write_text("fail")
    collector = collector_factory(env={"COLLECTOR_FAULT_SWITCH": str(switch)})
    response = httpx.post(collector.url + TP2, content=orjson.dumps(payload_data(page_view())), headers=JSON)
    assert response.status_code == 503 and int(response.headers["retry-after"]) > 0
    assert "secret-folder" not in response.text and str(collector.data_dir) not in response.text
    assert response.text == "not stored, retry later: the sink is unavailable"
