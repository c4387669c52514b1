"""The Kafka sink against a cluster that speaks the Kafka protocol on loopback (docs/behaviour.md#acknowledgement, #sinks).

The cluster is librdkafka's own mock broker (see kafka_mock.py), not a real Kafka: it runs in a
process of its own, and the tests take its brokers down, make its produce requests fail, and read
what arrived back with a plain confluent-kafka consumer, as a downstream job would.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from http_support import (
    SCHEMA_VIOLATIONS,
    acknowledged_sender,
    assert_valid_bad_row,
    page_view,
    pixel,
    post,
    raw_parameters,
    wait_until,
)
from kafka_mock import KafkaMock

from tests.load import Load

GOOD, BAD = "snowplow-good", "snowplow-bad"  # the sink's default topic names
PRODUCE_API = 0
NOT_ENOUGH_REPLICAS = 19  # the broker cannot meet acks=all: a retriable produce error


@dataclass(frozen=True)
class Delivered:
    key: str | None
    value: dict
    partition: int
    offset: int

    @property
    def event_id(self) -> str:
        return self.value["event_id"]


class TopicReader:
    """Reads every partition of a topic from its beginning, keeping what it has read."""

    def __init__(self, bootstrap_servers: str, topic: str, partitions: int) -> None:
        self.topic = topic
        self.partitions = partitions
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                "group.id": f"reader-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 20,  # an idle fetch holds the connection: keep watermark queries quick
            }
        )
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        self.records: list[Delivered] = []

    def _poll(self) -> None:
        for message in self.consumer.consume(num_messages=1000, timeout=0.1):
            if message.error() is None:
                key = message.key()
                value = orjson.loads(message.value())
                self.records.append(
                    Delivered(key.decode() if key is not None else None, value, message.partition(), message.offset())
                )

    def read_until(self, condition: Callable[[list[Delivered]], bool], timeout_s: float = 20) -> list[Delivered]:
        wait_until(lambda: condition(self.records) or self._poll() or condition(self.records), timeout_s)
        return self.read_all()

    def read_ids(self, event_ids: list[str], timeout_s: float = 20) -> list[Delivered]:
        """Read until every one of these events has arrived, then everything else already there."""
        return self.read_until(lambda records: set(event_ids) <= {r.event_id for r in records}, timeout_s)

    def read_all(self) -> list[Delivered]:
        """Everything the topic holds now: up to each partition's high watermark."""
        highs = {
            p: self.consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)[1]
            for p in range(self.partitions)
        }

        def caught_up() -> bool:
            read = {p: -1 for p in highs}
            for record in self.records:
                read[record.partition] = max(read[record.partition], record.offset)
            return all(read[p] + 1 >= highs[p] for p in highs)

        wait_until(lambda: caught_up() or self._poll() or caught_up(), 20)
        return self.records

    def close(self) -> None:
        self.consumer.close()


@pytest.fixture
def kafka() -> Iterator[Callable[..., KafkaMock]]:
    started: list[KafkaMock] = []

    def start(brokers: int = 1, partitions: int = 1) -> KafkaMock:
        mock = KafkaMock([GOOD, BAD], brokers=brokers, partitions=partitions)
        started.append(mock)
        return mock

    yield start
    for mock in started:
        mock.close()


@pytest.fixture
def reader() -> Iterator[Callable[..., TopicReader]]:
    opened: list[TopicReader] = []

    def open_reader(mock: KafkaMock, topic: str) -> TopicReader:
        topic_reader = TopicReader(mock.bootstrap_servers, topic, mock.partitions)
        opened.append(topic_reader)
        return topic_reader

    yield open_reader
    for topic_reader in opened:
        topic_reader.close()


def kafka_env(mock: KafkaMock, **extra: str) -> dict[str, str]:
    return {
        "COLLECTOR_SINK": "kafka",
        "COLLECTOR_KAFKA_BOOTSTRAP_SERVERS": mock.bootstrap_servers,
        "COLLECTOR_SINK_TIMEOUT_SECONDS": "2",  # a broker that is away fails a write within 2 s
        **extra,
    }


def sink_health(url: str) -> int:
    return httpx.get(url + "/sink-health", timeout=10).status_code


def started(collector_factory, env: dict[str, str]):
    collector = collector_factory(env=env)
    wait_until(lambda: sink_health(collector.url) == 200, 15)
    return collector


def test_events_and_bad_rows_arrive_on_their_topics_keyed_by_network_userid(kafka, reader, collector_factory):
    mock = kafka(brokers=3, partitions=3)
    collector = started(collector_factory, kafka_env(mock))
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())

    viewed = page_view(refr="https://search.example/?q=shoes")
    assert pixel(collector.url, viewed, headers={"Cookie": f"sp={alice}"}).status_code == 200
    first, second, broken = page_view(page="Home"), page_view(page="Basket"), page_view(vid="not-a-number")
    assert post(collector.url, first, second, broken, headers={"Cookie": f"sp={bob}"}).status_code == 200
    anonymous = page_view()
    assert post(collector.url, anonymous, headers={"SP-Anonymous": "*", "Cookie": f"sp={alice}"}).status_code == 200

    good = reader(mock, GOOD).read_ids([viewed["eid"], first["eid"], second["eid"], anonymous["eid"]])
    assert len(good) == 4, "each acknowledged event is on the topic once, and nothing else"
    by_id = {record.event_id: record for record in good}

    assert by_id[viewed["eid"]].key == alice
    assert by_id[viewed["eid"]].value["network_userid"] == alice
    assert by_id[viewed["eid"]].value["event"] == "page_view"
    assert by_id[viewed["eid"]].value["page_url"] == "https://shop.example/"
    assert by_id[viewed["eid"]].value["refr_urlhost"] == "search.example"
    assert by_id[viewed["eid"]].value["user_ipaddress"] == "127.0.0.1"
    assert by_id[viewed["eid"]].value["v_collector"].endswith("-kafka")

    one, two = by_id[first["eid"]], by_id[second["eid"]]
    assert one.key == two.key == bob and one.value["network_userid"] == bob
    assert (one.value["page_title"], two.value["page_title"]) == ("Home", "Basket")
    assert one.partition == two.partition and one.offset < two.offset, (
        "one user's events stay in order on one partition"
    )

    unknown = by_id[anonymous["eid"]]
    assert "network_userid" not in unknown.value and "user_ipaddress" not in unknown.value
    assert unknown.key == anonymous["eid"], "without a network user id the event id is the key"

    [bad_row] = reader(mock, BAD).read_until(lambda records: len(records) >= 1)
    assert bad_row.value["schema"] == SCHEMA_VIOLATIONS
    assert_valid_bad_row(bad_row.value)
    assert raw_parameters(bad_row.value)["eid"] == broken["eid"]
    assert bad_row.key == bob


def test_configured_partition_key_is_the_record_key(kafka, reader, collector_factory):
    mock = kafka()
    collector = started(collector_factory, kafka_env(mock, COLLECTOR_PARTITION_KEY="app_id"))
    with_app, without_app = page_view(aid="shop"), page_view()
    assert post(collector.url, with_app, without_app, headers={"Cookie": f"sp={uuid.uuid4()}"}).status_code == 200

    records = {r.event_id: r for r in reader(mock, GOOD).read_ids([with_app["eid"], without_app["eid"]])}
    assert records[with_app["eid"]].key == "shop"
    assert records[without_app["eid"]].key == without_app["eid"]


def test_idle_broker_outage_shows_in_sink_health_and_gives_503_until_the_broker_is_back(
    kafka, reader, collector_factory
):
    mock = kafka()
    collector = started(collector_factory, kafka_env(mock, COLLECTOR_RETRY_AFTER_SECONDS="7"))
    before = page_view()
    assert post(collector.url, before).status_code == 200

    mock.down()
    # No traffic: readiness must still notice, so a load balancer stops sending trackers here.
    wait_until(lambda: sink_health(collector.url) == 503, 10)
    refused_event, refused_bad_event = page_view(), page_view(vid="not-a-number")
    refused = post(collector.url, refused_event, refused_bad_event)
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "7"
    assert pixel(collector.url, page_view()).status_code == 503

    mock.up()
    wait_until(lambda: sink_health(collector.url) == 200, 15)
    assert post(collector.url, refused_event, refused_bad_event).status_code == 200  # the tracker's retry

    good = reader(mock, GOOD).read_ids([before["eid"], refused_event["eid"]])
    assert [record.event_id for record in good] == [before["eid"], refused_event["eid"]]
    [bad_row] = reader(mock, BAD).read_until(lambda records: len(records) >= 1)
    assert raw_parameters(bad_row.value)["eid"] == refused_bad_event["eid"]


def test_broker_outage_under_load_gives_503_and_every_acknowledged_event_is_delivered_once(
    kafka, reader, collector_factory
):
    mock = kafka()
    collector = started(collector_factory, kafka_env(mock))
    load = Load(collector.url, senders=2, batch_size=5).start()
    try:
        load.wait_for(lambda: load.statuses[200] >= 10, what="traffic flowing")
        mock.down()
        load.wait_for(lambda: load.statuses[503] >= 2, what="503s while the broker is down")
        assert sink_health(collector.url) == 503
        mock.up()
        recovered_at = load.statuses[200]
        load.wait_for(lambda: load.statuses[200] >= recovered_at + 10, what="200s after the broker is back")
    finally:
        load.stop()
    assert load.transport_errors == 0

    records = reader(mock, GOOD).read_ids(load.acknowledged)
    stored = [record.event_id for record in records]
    assert all(stored.count(eid) == 1 for eid in load.acknowledged), "an acknowledged event was delivered twice"
    assert set(stored) <= set(load.sent)
    by_id = {record.event_id: record.value for record in records}
    assert all(by_id[eid]["se_label"] == eid and by_id[eid]["se_category"] == "load" for eid in load.acknowledged)


def test_produce_requests_rejected_by_the_broker_give_503_and_store_nothing(kafka, reader, collector_factory):
    mock = kafka()
    collector = started(collector_factory, kafka_env(mock))
    mock.fail_requests(PRODUCE_API, NOT_ENOUGH_REPLICAS, 1000)  # more than fit in one delivery timeout
    event = page_view()

    assert post(collector.url, event).status_code == 503
    assert sink_health(collector.url) == 200, "the cluster still answers: ready again for the tracker's retry"

    mock.clear_failures(PRODUCE_API)
    assert post(collector.url, event).status_code == 200
    records = reader(mock, GOOD).read_ids([event["eid"]])
    assert [record.event_id for record in records] == [event["eid"]], "the rejected attempt left no copy"


def test_spool_acknowledges_during_the_outage_and_delivers_everything_in_order_after(
    kafka, reader, collector_factory, tmp_path: Path
):
    mock = kafka()
    spool = tmp_path / "spool"
    collector = started(collector_factory, kafka_env(mock, COLLECTOR_SPOOL_DIR=str(spool)))
    acknowledged: list[str] = []

    send = acknowledged_sender(collector.url, acknowledged)

    for _ in range(3):
        send()
    mock.down()
    wait_until(lambda: sink_health(collector.url) == 503, 10)
    broken = page_view(vid="not-a-number")
    send(broken)
    for _ in range(3):
        send()

    spooled = b"".join(path.read_bytes() for path in sorted((spool / "good").glob("*/*.batch")))
    assert acknowledged[-1].encode() in spooled, "acknowledged during the outage: on disk in the spool"

    mock.up()
    for _ in range(3):
        send()

    records = reader(mock, GOOD).read_ids(acknowledged)
    assert [record.event_id for record in records] == acknowledged, "delivered once each, in acknowledgement order"
    [bad_row] = reader(mock, BAD).read_until(lambda rows: len(rows) >= 1)
    assert raw_parameters(bad_row.value)["eid"] == broken["eid"]
    wait_until(lambda: not list(spool.glob("*/*/*.batch")), 10)  # sent on means removed from the spool


def test_records_larger_than_message_max_bytes_become_size_violations_that_fit(kafka, reader, collector_factory):
    mock = kafka()
    limit = 8192
    settings = orjson.dumps({"message.max.bytes": str(limit)}).decode()
    collector = collector_factory(env=kafka_env(mock, COLLECTOR_KAFKA_PRODUCER_SETTINGS=settings))
    big = page_view(url="https://shop.example/" + "p" * 2900, page="t" * 1900, refr="https://r.example/" + "r" * 2900)
    small = page_view()
    assert post(collector.url, big, small).status_code == 200, "not refused by the producer, nor retried forever"
    assert [record.event_id for record in reader(mock, GOOD).read_ids([small["eid"]])] == [small["eid"]]
    [row] = [record.value for record in reader(mock, BAD).read_until(lambda records: len(records) >= 1)]
    assert_valid_bad_row(row)
    assert row["data"]["failure"]["maximumAllowedSizeBytes"] < limit
    assert big["eid"] in row["data"]["payload"]
