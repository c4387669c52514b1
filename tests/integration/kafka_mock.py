"""A Kafka cluster for tests: librdkafka's own mock broker, hosted in a process of its own.

This is NOT a real Kafka. librdkafka (the C library under confluent-kafka) ships a mock cluster
that listens on real loopback ports and speaks enough of the Kafka protocol for producers and
consumers: metadata, produce, fetch, idempotent producer ids. It also lets a test take brokers
down and make requests fail on purpose. The Python API of confluent-kafka does not expose its
control functions, so this program calls the bundled shared library through ctypes.

Run as a program, it creates the cluster and its topics, prints the bootstrap servers as its
first line, then obeys one command per line on stdin, answering `ok` (or `error: ...`):

    down                       every broker closes its connections and refuses new ones
    up                         the brokers accept connections again
    fail <api_key> <error> <n> the next n requests of that Kafka API (0 = Produce) fail with
                               that protocol error code (e.g. 19 NOT_ENOUGH_REPLICAS)
    clear <api_key>            forget the failures still pending for that API
    quit                       destroy the cluster and exit (so does end of input)

`KafkaMock` below is the test side: it starts the program and sends it commands. The cluster
lives exactly as long as that process, so a test that dies leaves no broker behind.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import subprocess
import sys
from pathlib import Path

RD_KAFKA_PRODUCER = 0
ALL_BROKERS = -1  # librdkafka: "use -1 for all brokers" in the broker up/down calls


def _librdkafka() -> ctypes.CDLL:
    """The librdkafka bundled with the installed confluent-kafka wheel (same build the sink uses)."""
    spec = importlib.util.find_spec("confluent_kafka")
    if spec is None or spec.origin is None:
        raise RuntimeError("confluent-kafka is not installed")
    site_packages = Path(spec.origin).resolve().parent.parent
    candidates = sorted((site_packages / "confluent_kafka.libs").glob("librdkafka*.so*"))
    if not candidates:
        raise RuntimeError(f"no bundled librdkafka under {site_packages / 'confluent_kafka.libs'}")
    lib = ctypes.CDLL(str(candidates[0]))
    p = ctypes.c_void_p
    signatures = {
        "rd_kafka_conf_new": (p, []),
        "rd_kafka_conf_set": (ctypes.c_int, [p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]),
        "rd_kafka_new": (p, [ctypes.c_int, p, ctypes.c_char_p, ctypes.c_size_t]),
        "rd_kafka_destroy": (None, [p]),
        "rd_kafka_mock_cluster_new": (p, [p, ctypes.c_int]),
        "rd_kafka_mock_cluster_destroy": (None, [p]),
        "rd_kafka_mock_cluster_bootstraps": (ctypes.c_char_p, [p]),
        "rd_kafka_mock_topic_create": (ctypes.c_int, [p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]),
        "rd_kafka_mock_broker_set_down": (ctypes.c_int, [p, ctypes.c_int32]),
        "rd_kafka_mock_broker_set_up": (ctypes.c_int, [p, ctypes.c_int32]),
        "rd_kafka_mock_push_request_errors_array": (
            None,
            [p, ctypes.c_int16, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int)],
        ),
        "rd_kafka_mock_clear_request_errors": (None, [p, ctypes.c_int16]),
        "rd_kafka_err2str": (ctypes.c_char_p, [ctypes.c_int]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


class _Cluster:
    def __init__(self, brokers: int, topics: list[str], partitions: int) -> None:
        self.lib = _librdkafka()
        errstr = ctypes.create_string_buffer(512)
        conf = self.lib.rd_kafka_conf_new()
        # The handle only hosts the cluster; it never connects anywhere, so keep it quiet.
        self.lib.rd_kafka_conf_set(conf, b"log_level", b"0", errstr, len(errstr))
        self.handle = self.lib.rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, len(errstr))  # takes conf
        if not self.handle:
            raise RuntimeError(f"rd_kafka_new: {errstr.value.decode()}")
        self.cluster = self.lib.rd_kafka_mock_cluster_new(self.handle, brokers)
        if not self.cluster:
            raise RuntimeError("rd_kafka_mock_cluster_new failed")
        for topic in topics:
            self._check(self.lib.rd_kafka_mock_topic_create(self.cluster, topic.encode(), partitions, min(brokers, 3)))
        self.bootstrap_servers = self.lib.rd_kafka_mock_cluster_bootstraps(self.cluster).decode()

    def _check(self, error: int) -> None:
        if error:
            raise RuntimeError(self.lib.rd_kafka_err2str(error).decode())

    def command(self, line: str) -> None:
        words = line.split()
        if words == ["down"]:
            self._check(self.lib.rd_kafka_mock_broker_set_down(self.cluster, ALL_BROKERS))
        elif words == ["up"]:
            self._check(self.lib.rd_kafka_mock_broker_set_up(self.cluster, ALL_BROKERS))
        elif len(words) == 4 and words[0] == "fail":
            api_key, error, count = (int(word) for word in words[1:])
            errors = (ctypes.c_int * count)(*[error] * count)
            self.lib.rd_kafka_mock_push_request_errors_array(self.cluster, api_key, count, errors)
        elif len(words) == 2 and words[0] == "clear":
            self.lib.rd_kafka_mock_clear_request_errors(self.cluster, int(words[1]))
        else:
            raise ValueError(f"unknown command {line!r}")

    def close(self) -> None:
        self.lib.rd_kafka_mock_cluster_destroy(self.cluster)
        self.lib.rd_kafka_destroy(self.handle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", type=int, default=1, choices=range(1, 4))
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("topics", nargs="+")
    options = parser.parse_args()
    cluster = _Cluster(options.brokers, options.topics, options.partitions)
    print(cluster.bootstrap_servers, flush=True)
    for line in sys.stdin:  # end of input (the test process is gone) ends the cluster too
        if line.strip() == "quit":
            cluster.close()
            print("ok", flush=True)
            return
        try:
            cluster.command(line)
        except (ValueError, RuntimeError) as error:
            print(f"error: {error}", flush=True)
        else:
            print("ok", flush=True)
    cluster.close()


class KafkaMock:
    """Test side: a running mock cluster process and its bootstrap servers."""

    def __init__(self, topics: list[str], brokers: int = 1, partitions: int = 1) -> None:
        self.topics = topics
        self.partitions = partitions
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--brokers", str(brokers), "--partitions", str(partitions), *topics],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.bootstrap_servers = self._answer()

    def _answer(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line or line.startswith("error"):
            self.process.kill()
            raise RuntimeError(f"kafka mock: {line or 'exited without an answer'}")
        return line

    def _command(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer = self._answer()
        if answer != "ok":
            raise RuntimeError(f"kafka mock {line!r}: {answer}")

    def down(self) -> None:
        self._command("down")

    def up(self) -> None:
        self._command("up")

    def fail_requests(self, api_key: int, error: int, count: int) -> None:
        self._command(f"fail {api_key} {error} {count}")

    def clear_failures(self, api_key: int) -> None:
        self._command(f"clear {api_key}")

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self._command("quit")
                self.process.wait(10)
            except (OSError, RuntimeError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(10)


if __name__ == "__main__":
    main()
