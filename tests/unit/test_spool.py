"""The spool: what it adopts at start, and that no acknowledged batch is ever overwritten or stuck."""

from __future__ import annotations

import os
import threading

import orjson

from app.sinks.base import Record, Refused
from app.sinks.spool import Spool

WAIT_S = 10


class Broker:
    """A remote sink that is down until `up` is set; records what it received, in order."""

    def __init__(self) -> None:
        self.up = threading.Event()
        self.received: list[str] = []
        self.all_sent = threading.Event()
        self.expected = 0
        self.name = "broker"

    def write(self, records: list[Record]) -> None:
        if not self.up.is_set():
            raise OSError("broker down")
        self.received.extend(record.id for record in records)
        if len(self.received) >= self.expected:
            self.all_sent.set()

    def healthy(self) -> bool:
        return self.up.is_set()

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass


def batch_file(folder, number: int, ids: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = b"".join(orjson.dumps([record_id, "key", "{}"]) + b"\n" for record_id in ids)
    (folder / f"{number:012d}.batch").write_bytes(lines)


def test_leftovers_of_a_reused_pid_and_an_orphan_are_all_kept_and_sent(tmp_path):
    batch_file(tmp_path / str(os.getpid()), 1, ["own-left-over"])  # an earlier process with this pid
    batch_file(tmp_path / "99999999", 1, ["orphan-1"])  # a dead worker's folder
    batch_file(tmp_path / "99999999", 2, ["orphan-2"])
    broker = Broker()
    spool = Spool(broker, tmp_path, max_bytes=1 << 20)
    spool.write([Record(b"{}", "new", "key")])  # spooled behind the others: the broker is down
    broker.expected = 4
    broker.up.set()
    assert broker.all_sent.wait(WAIT_S)
    spool.close()
    assert broker.received == ["own-left-over", "orphan-1", "orphan-2", "new"]
    assert not list(tmp_path.glob("*/*.batch"))


def test_an_unreadable_batch_is_set_aside_and_the_rest_still_flows(tmp_path):
    folder = tmp_path / str(os.getpid())
    folder.mkdir()
    (folder / f"{1:012d}.batch").write_bytes(b'["torn", "key", "{}"')  # never written whole
    batch_file(folder, 2, ["after"])
    broker = Broker()
    broker.expected = 1
    broker.up.set()
    spool = Spool(broker, tmp_path, max_bytes=1 << 20)
    assert broker.all_sent.wait(WAIT_S)
    spool.close()
    assert broker.received == ["after"]
    assert [path.name for path in folder.glob("*.failed")] == [f"{1:012d}.failed"]


def test_a_batch_the_sink_refuses_for_good_is_set_aside_and_the_rest_still_flows(tmp_path):
    class Picky(Broker):
        def write(self, records: list[Record]) -> None:
            if records[0].id == "refused":
                raise Refused("HTTP 400")
            super().write(records)

    broker = Picky()
    spool = Spool(broker, tmp_path, max_bytes=1 << 20)
    spool.write([Record(b"{}", "refused", "key")])  # the broker is down: both are spooled
    spool.write([Record(b"{}", "after", "key")])
    broker.expected = 1
    broker.up.set()
    assert broker.all_sent.wait(WAIT_S)
    spool.close()
    assert broker.received == ["after"]
    assert len(list(tmp_path.glob("*/*.failed"))) == 1
