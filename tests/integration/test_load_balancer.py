"""Two replicas behind nginx, both publishing to one nats-server: how the service is deployed (docs/behaviour.md#identity).

All traffic stays on loopback, so the test makes the three parties distinguishable by address:
the test client connects from 127.0.0.2, nginx connects to the replicas from 127.0.0.1, and the
replicas trust only 127.0.0.1/32 as a proxy. The client's address is then 127.0.0.2, nginx's 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from http_support import JSON, TP2, page_view, payload_data, the_set_cookie
from nats_support import GOOD, collector_env

from tests.conftest import free_port

CLIENT_ADDRESS = "127.0.0.2"
NGINX_ADDRESS = "127.0.0.1"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # /usr/sbin is not on every user's PATH
REPLICAS = ("replica-a", "replica-b")


class Nginx:
    """nginx with its own config, logs and pid file under a test folder, in the foreground."""

    def __init__(self, folder: Path, upstreams: list[str]) -> None:
        self.folder = folder
        self.port = free_port()  # forwards the client's address in X-Forwarded-For
        self.bare_port = free_port()  # the same proxy without a forwarding header
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "nginx.conf"
        self.config.write_text(self._config(upstreams))
        command = [
            NGINX,
            "-e",
            str(folder / "error.log"),
            "-c",
            str(self.config),
            "-p",
            str(folder),
            "-g",
            "daemon off;",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def _config(self, upstreams: list[str]) -> str:
        servers = "".join(f"        server {upstream};\n" for upstream in upstreams)
        temp = "".join(
            f"    {kind}_temp_path {self.folder / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        proxy = f"""
            proxy_pass http://collectors;
            proxy_bind {NGINX_ADDRESS};
            proxy_set_header Host $host;"""
        return f"""
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {self.folder / "nginx.pid"};
error_log {self.folder / "error.log"} warn;
events {{ worker_connections 256; }}
http {{
    access_log {self.folder / "access.log"};
{temp}
    upstream collectors {{
{servers}    }}
    server {{
        listen 127.0.0.1:{self.port};
        location / {{{proxy}
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
    server {{
        listen 127.0.0.1:{self.bare_port};
        location / {{{proxy}
            proxy_set_header X-Forwarded-For "";
        }}
    }}
}}
"""

    def wait_ready(self, timeout_s: float = 10) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}:\n{self.error_log()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start:\n{self.error_log()}")
            time.sleep(0.05)  # polling for start-up, not timing a result

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture
def balanced(nats_server, collector_factory, tmp_path: Path) -> Iterator[Nginx]:
    """nginx round-robin over two replicas that trust only nginx's address as a proxy."""
    replicas = [
        collector_factory(
            env=collector_env(nats_server, COLLECTOR_NAME=name, COLLECTOR_TRUSTED_PROXIES=f'["{NGINX_ADDRESS}/32"]')
        )
        for name in REPLICAS
    ]
    nginx = Nginx(tmp_path / "nginx", [f"127.0.0.1:{replica.port}" for replica in replicas])
    try:
        nginx.wait_ready()
        yield nginx
    finally:
        nginx.stop()


def replica_of(event: dict) -> str:
    """Which replica stored the event: v_collector is `<name>-<version>-<sink>`."""
    [name] = [name for name in REPLICAS if event["v_collector"].startswith(name + "-")]
    return name


def test_client_address_cookie_and_every_event_through_two_replicas(balanced: Nginx, nats_server):
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{balanced.port}", transport=httpx.HTTPTransport(local_address=CLIENT_ADDRESS)
    )
    with client:
        first = page_view()
        response = client.get("/i", params=first)
        assert response.status_code == 200
        cookie = the_set_cookie(response)
        assert cookie.name == "sp"

        with_cookie = [first["eid"]]
        cookie_header = {"Cookie": f"sp={cookie.value}"}
        for round_ in range(4):  # each round: a pixel and a batch of three, spread over both replicas
            view = page_view()
            answer = client.get("/i", params=view, headers=cookie_header)
            batch = [page_view(tv=f"round-{round_}") for _ in range(3)]
            posted = client.post(TP2, content=orjson.dumps(payload_data(*batch)), headers={**JSON, **cookie_header})
            for each in (answer, posted):
                assert each.status_code == 200
                assert the_set_cookie(each).value == cookie.value, "a replica replaced the cookie it was sent"
            with_cookie += [view["eid"], *(event["eid"] for event in batch)]

        forged = page_view()  # the client's own header is kept by nginx, its real address appended
        assert client.get("/i", params=forged, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 200

    bare = page_view()  # the same proxy path, but nginx forwards no client address
    assert httpx.get(f"http://127.0.0.1:{balanced.bare_port}/i", params=bare).status_code == 200

    events = nats_server.records(GOOD)
    sent = [*with_cookie, forged["eid"], bare["eid"]]
    assert Counter(event["event_id"] for event in events) == Counter(sent), "not every event is in the stream once"
    by_id = {event["event_id"]: event for event in events}

    for eid in [*with_cookie, forged["eid"]]:
        assert by_id[eid]["user_ipaddress"] == CLIENT_ADDRESS, by_id[eid]["user_ipaddress"]
    assert by_id[bare["eid"]]["user_ipaddress"] == NGINX_ADDRESS  # what the replicas see of nginx itself

    issuer = replica_of(by_id[first["eid"]])
    stored_by = Counter(replica_of(by_id[eid]) for eid in with_cookie)
    assert set(stored_by) == set(REPLICAS), f"round robin should reach both replicas: {stored_by}"
    assert {by_id[eid]["network_userid"] for eid in with_cookie} == {cookie.value}
    honoured_by_other = [eid for eid in with_cookie if replica_of(by_id[eid]) != issuer]
    assert honoured_by_other, f"no event with the cookie reached the replica that did not issue it ({issuer})"
