"""Two replicas behind nginx, both publishing to one nats-server: how the service is deployed
(docs/behaviour.md#identity); and the shipped example, deploy/nginx.conf, run as it is, under oversized bodies.

All traffic stays on loopback, so the test makes the three parties distinguishable by address:
the test client connects from 127.0.0.2, nginx connects to the replicas from 127.0.0.1, and the
replicas trust only 127.0.0.1/32 as a proxy. The client's address is then 127.0.0.2, nginx's 127.0.0.1.
"""

from __future__ import annotations

import gzip
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

from tests.conftest import ROOT, free_port
from tests.load import TP2 as LOAD_PATH
from tests.load import Load

CLIENT_ADDRESS = "127.0.0.2"
NGINX_ADDRESS = "127.0.0.1"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # /usr/sbin is not on every user's PATH
REPLICAS = ("replica-a", "replica-b")
SHIPPED_CONFIG = ROOT / "deploy" / "nginx.conf"
MIB = 1024 * 1024


class Nginx:
    """nginx with its own config, logs and pid file under a test folder, in the foreground."""

    def __init__(self, folder: Path, upstreams: list[str], shipped: bool = False) -> None:
        self.folder = folder
        self.port = free_port()  # forwards the client's address in X-Forwarded-For
        self.bare_port = free_port()  # the same proxy without a forwarding header
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "nginx.conf"
        self.config.write_text(self._shipped_config(upstreams) if shipped else self._config(upstreams))
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

    def _shipped_config(self, upstreams: list[str]) -> str:
        """deploy/nginx.conf with only what must differ here: the replicas' and the listener's
        addresses, and this test's own folder for nginx's pid, logs and temporary files."""
        shipped = SHIPPED_CONFIG.read_text()
        for name, upstream in zip(("collector-a:8080", "collector-b:8080"), upstreams, strict=True):
            shipped = shipped.replace(f"server {name} ", f"server {upstream} ")
        shipped = shipped.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        own_files = (
            "".join(
                f"    {kind}_temp_path {self.folder / kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"    access_log {self.folder / 'access.log'};\n"
        )
        shipped = shipped.replace("http {\n", "http {\n" + own_files, 1)
        top = f"{'user root;' if os.geteuid() == 0 else ''}\npid {self.folder / 'nginx.pid'};\n"
        return top + f"error_log {self.folder / 'error.log'} warn;\n" + shipped

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


@pytest.fixture
def shipped(collector_factory, tmp_path: Path) -> Iterator[tuple[Nginx, list]]:
    """deploy/nginx.conf in front of two replicas with the default limits, writing files."""
    replicas = [collector_factory(env={"COLLECTOR_NAME": name}) for name in REPLICAS]
    nginx = Nginx(tmp_path / "nginx", [f"127.0.0.1:{replica.port}" for replica in replicas], shipped=True)
    try:
        nginx.wait_ready()
        yield nginx, replicas
    finally:
        nginx.stop()


def oversized_bodies() -> list[tuple[str, dict[str, str], bytes | Iterator[bytes]]]:
    """(what, headers, body) past the 2 MiB drop limit, in every shape a client can send them."""
    gzip_bomb = gzip.compress(b'{"schema": "' + b" " * (3 * MIB) + b'"}')  # small on the wire, 3 MiB inflated
    return [
        *((f"{size} MiB", JSON, b"x" * int(size * MIB)) for size in (2.5, 3, 4)),
        ("3 MiB chunked", JSON, iter([b"x" * MIB] * 3)),
        ("gzip inflating to 3 MiB", {**JSON, "Content-Encoding": "gzip"}, gzip_bomb),
    ]


def test_oversized_bodies_get_413_through_the_shipped_nginx_while_normal_traffic_never_sees_a_502(shipped):
    nginx, replicas = shipped
    url = f"http://127.0.0.1:{nginx.port}"
    load = Load(url, senders=2, batch_size=3).start()
    try:
        load.wait_for(lambda: load.statuses[200] >= 10, what="normal traffic to flow")
        for round_ in range(3):  # more oversized requests than there are replicas to knock out
            for what, headers, body in oversized_bodies():
                response = httpx.post(url + LOAD_PATH, content=body, headers=headers, timeout=30)
                assert response.status_code == 413, f"round {round_}, {what}: {response.status_code}"
        during = load.statuses[200]
        load.wait_for(lambda: load.statuses[200] >= during + 20, what="normal traffic after the oversized bodies")
    finally:
        load.stop()

    assert load.transport_errors == 0
    assert set(load.statuses) == {200}, f"normal requests got {dict(load.statuses)}"
    stored = Counter(event["event_id"] for replica in replicas for event in replica.good())
    assert stored == Counter(load.acknowledged), "an acknowledged event is missing or stored twice"
    assert all(replica.bad() == [] for replica in replicas), "an oversized body was recorded"


def test_a_replica_reads_a_refused_body_away_so_the_proxy_relays_its_413_not_a_502(collector_factory, tmp_path):
    """nginx lets through more than the replicas take (their drop limit set below the proxy's):
    each replica answers 413 itself, after reading the body away, and stays in service."""
    replicas = [
        collector_factory(env={"COLLECTOR_DROP_PAYLOAD_BYTES": str(MIB), "COLLECTOR_NAME": n}) for n in REPLICAS
    ]
    nginx = Nginx(tmp_path / "nginx", [f"127.0.0.1:{replica.port}" for replica in replicas], shipped=True)
    try:
        nginx.wait_ready()
        url = f"http://127.0.0.1:{nginx.port}"
        for _ in range(4):
            for content in (b"x" * int(1.9 * MIB), iter([b"x" * (MIB // 2)] * 3)):
                response = httpx.post(url + TP2, content=content, headers=JSON, timeout=30)
                assert (response.status_code, response.text) == (
                    413,
                    f"request body larger than {MIB} bytes: nothing recorded",
                )
            assert httpx.get(url + "/i", params=page_view()).status_code == 200
    finally:
        nginx.stop()
    assert "reset" not in nginx.error_log() and "broken pipe" not in nginx.error_log().lower(), nginx.error_log()
    assert sum(len(replica.good()) for replica in replicas) == 4


@pytest.mark.parametrize("path", ["/metrics", "/docs", "/openapi.json", "/redoc"])
def test_operator_routes_are_off_the_shipped_public_listener(shipped, path):
    nginx, [replica, _] = shipped
    assert httpx.get(f"http://127.0.0.1:{nginx.port}{path}").status_code == 404
    assert httpx.get(f"{replica.url}{path}").status_code == 200, "the replica itself still serves it"
