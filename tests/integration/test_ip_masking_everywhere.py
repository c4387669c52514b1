"""IP anonymisation reaches every stored byte (SPEC privacy): every sink, both formats, every bad-row
type. The client's address is sent every way a tracker, a proxy or an attacker can send it, and no
output may hold it unmasked afterwards."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson
import pytest
from http_support import JSON, TP2, payload_data
from test_http_sink import Receiver

from tests.conftest import Collector, start_collector

ADDRESS = "203.0.113.73"
# Every spelling of ADDRESS that must not be stored: as sent, and as the IPv6 it was mapped into.
UNMASKED = [ADDRESS.encode(), b"cb00:7149"]
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


FORMATS = ("json", "tsv")


def file_output(collector: Collector, receiver: Receiver, output_format: str) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(collector.data_dir.rglob("*.jsonl*")))


def stdout_output(collector: Collector, receiver: Receiver, output_format: str) -> bytes:
    return collector.log_path.read_bytes()  # records and logs alike: neither may hold the address


def http_output(collector: Collector, receiver: Receiver, output_format: str) -> bytes:
    batches = [batch for batch in receiver.batches if batch.path.startswith(f"/{output_format}/")]
    return b"\n".join(line for batch in batches for line in batch.lines)


def http_env(receiver: Receiver, output_format: str) -> dict[str, str]:
    return {
        "COLLECTOR_SINK": "http",
        "COLLECTOR_HTTP_GOOD_URL": f"{receiver.base}/{output_format}/good",
        "COLLECTOR_HTTP_BAD_URL": f"{receiver.base}/{output_format}/bad",
    }


SINKS: dict[str, tuple[Callable[[Receiver, str], dict[str, str]], Callable[..., bytes]]] = {
    "file": (lambda receiver, output_format: {}, file_output),
    "stdout": (lambda receiver, output_format: {"COLLECTOR_SINK": "stdout"}, stdout_output),
    "http": (http_env, http_output),
}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


@pytest.fixture(scope="module")
def collectors(tmp_path_factory, receiver) -> Iterator[dict[tuple[str, str], Collector]]:
    """One collector per sink and format, started side by side (start-up is most of this suite's time)."""
    cases = [(sink, output_format) for sink in SINKS for output_format in FORMATS]

    def start(case: tuple[str, str]) -> Collector:
        sink, output_format = case
        env = {**SETTINGS, **SINKS[sink][0](receiver, output_format), "COLLECTOR_OUTPUT_FORMAT": output_format}
        return start_collector(tmp_path_factory.mktemp(f"{sink}-{output_format}") / "data", env)

    with ThreadPoolExecutor(len(cases)) as pool:
        started = dict(zip(cases, pool.map(start, cases), strict=True))
    yield started
    for collector in started.values():
        collector.stop(signal.SIGKILL)


@pytest.mark.parametrize("output_format", FORMATS)
@pytest.mark.parametrize("sink", SINKS)
def test_no_output_holds_the_unmasked_address(collectors, receiver, sink, output_format):
    collector = collectors[sink, output_format]
    send_the_address_every_way(collector.url)
    stored = SINKS[sink][1](collector, receiver, output_format)
    for bad_row in ("schema_violations", "size_violation", "tracker_protocol_violations"):
        assert bad_row.encode() in stored, f"no {bad_row} row: the test would prove nothing"
    assert stored.count(MASKED.encode()) >= 4, "the masked address is stored where the address was"
    for spelling in UNMASKED:
        assert spelling not in stored, (spelling, stored[max(0, stored.find(spelling) - 300) :][:600])
