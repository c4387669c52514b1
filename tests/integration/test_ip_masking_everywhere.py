"""IP anonymisation reaches every stored byte (SPEC privacy): every sink, both formats, every bad-row
type. The client's address is sent every way a tracker, a proxy or an attacker can send it, and no
output may hold it unmasked afterwards."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest
from http_support import JSON, TP2, payload_data
from test_http_sink import Receiver

ADDRESS = "203.0.113.73"
# Every spelling of ADDRESS that must not be stored: as sent, and as the IPv6 it was mapped into.
UNMASKED = [ADDRESS.encode(), b"cb00:7149", b"203.0.113.73"]
MASKED = "203.0.113.0"
SETTINGS = {"COLLECTOR_IP_ANONYMISE_OCTETS": "1", "COLLECTOR_MAX_PAYLOAD_BYTES": "4096"}
CLIENT_HEADERS = {"True-Client-IP": ADDRESS, "X-Client-IP": ADDRESS, "Via": f"1.1 {ADDRESS}"}


def send_the_address_every_way(url: str) -> None:
    def get(params: dict[str, str], **headers: str) -> None:
        answer = httpx.get(f"{url}/i", params=params, headers={"X-Forwarded-For": ADDRESS, **headers})
        assert answer.status_code == 200, params

    def post(body: bytes, **headers: str) -> None:
        answer = httpx.post(url + TP2, content=body, headers={**JSON, "X-Forwarded-For": ADDRESS, **headers})
        assert answer.status_code == 200, body[:100]

    get({"e": "pv", "p": "web", "ip": f"{ADDRESS}:8080"})  # good
    get({"e": "pv", "p": "web", "ip": f"::ffff:{ADDRESS}"})  # good
    get({"e": "pv", "p": "web", "ip": f"{ADDRESS};"})  # good: not an address as a whole
    get({"e": "pv", "p": "web"}, **{"X-Forwarded-For": f"::ffff:{ADDRESS}"})  # good
    get({"e": "pv", "p": "nope", "ip": f"{ADDRESS}:8080"}, **CLIENT_HEADERS)  # schema_violations
    get({"e": "pv", "p": "web", "ip": ADDRESS, "pad": "x" * 5000})  # size_violation
    post(orjson.dumps(payload_data({"e": "pv", "p": "web", "tv": 1, "ip": ADDRESS})), **CLIENT_HEADERS)  # protocol
    post(f'not json, "ip": "{ADDRESS}"'.encode(), **CLIENT_HEADERS)  # tracker_protocol_violations
    post(f'{{"ip": "{ADDRESS}"}}'.encode(), **{"SP-Anonymous": "*", **CLIENT_HEADERS})  # anonymous


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


def file_output(collector, receiver) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(Path(collector.data_dir).rglob("*.jsonl*")))


def stdout_output(collector, receiver) -> bytes:
    return collector.log_path.read_bytes()  # records and logs alike: neither may hold the address


def http_output(collector, receiver) -> bytes:
    return b"\n".join(line for batch in receiver.batches for line in batch.lines)


SINKS: dict[str, tuple[dict[str, str], Callable[..., bytes]]] = {
    "file": ({}, file_output),
    "stdout": ({"COLLECTOR_SINK": "stdout"}, stdout_output),
    "http": ({"COLLECTOR_SINK": "http"}, http_output),
}


@pytest.mark.parametrize("output_format", ["json", "tsv"])
@pytest.mark.parametrize("sink", SINKS)
def test_no_output_holds_the_unmasked_address(collector_factory, receiver, sink, output_format):
    env, read = SINKS[sink]
    if sink == "http":
        env = {
            **env,
            "COLLECTOR_HTTP_GOOD_URL": f"{receiver.base}/good",
            "COLLECTOR_HTTP_BAD_URL": f"{receiver.base}/bad",
        }
    collector = collector_factory(env={**SETTINGS, **env, "COLLECTOR_OUTPUT_FORMAT": output_format})
    send_the_address_every_way(collector.url)
    stored = read(collector, receiver)
    for bad_row in ("schema_violations", "size_violation", "tracker_protocol_violations"):
        assert bad_row.encode() in stored, f"no {bad_row} row: the test would prove nothing"
    assert stored.count(MASKED.encode()) >= 4, "the masked address is stored where the address was"
    for spelling in UNMASKED:
        assert spelling not in stored, (spelling, stored[max(0, stored.find(spelling) - 300) :][:600])
