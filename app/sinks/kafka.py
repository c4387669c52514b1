"""Kafka: an idempotent producer with `acks=all`; a batch is stored when every delivery report is in.

The record key is the partition key (by default the network user id, else the event id),
so one user's events stay in order on one partition. Extra producer settings (security
protocol, SASL, ...) pass through from configuration unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from app.sinks.base import Record

log = logging.getLogger(__name__)
HEALTH_PROBE_TIMEOUT_S = 2.0
DEFAULT_MESSAGE_MAX_BYTES = 1_000_000  # librdkafka's default message.max.bytes
# The producer counts key and protocol framing against message.max.bytes, not only the value.
MESSAGE_OVERHEAD_BYTES = 1024


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    """What the kafka sink reads of the settings (the same names)."""

    kafka_bootstrap_servers: str
    kafka_good_topic: str
    kafka_bad_topic: str
    kafka_producer_settings: dict[str, str]
    sink_timeout_seconds: float


def build(settings: KafkaSettings, output: str) -> KafkaSink:
    topic = settings.kafka_good_topic if output == "good" else settings.kafka_bad_topic
    return KafkaSink(
        settings.kafka_bootstrap_servers, topic, settings.kafka_producer_settings, settings.sink_timeout_seconds
    )


class KafkaSink:
    name = "kafka"

    def __init__(
        self, bootstrap_servers: str, topic: str, producer_settings: dict[str, str], delivery_timeout_s: float
    ) -> None:
        self.topic = topic
        self.delivery_timeout_s = delivery_timeout_s
        settings = {
            "bootstrap.servers": bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": int(delivery_timeout_s * 1000),
            **producer_settings,
            "error_cb": self._client_error,
        }
        self.producer = Producer(settings)
        limit = int(producer_settings.get("message.max.bytes", DEFAULT_MESSAGE_MAX_BYTES))
        self._max_record_bytes = limit - MESSAGE_OVERHEAD_BYTES
        self._failing = True  # until the cluster has answered once: /sink-health stays 503 at start

    def write(self, records: list[Record]) -> None:
        if not records:
            return
        failures: list[str] = []

        def delivered(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                failures.append(str(error))

        try:
            for record in records:
                self._produce(record, delivered)
            undelivered = self.producer.flush(self.delivery_timeout_s)
        except KafkaException as error:  # e.g. a topic the producer may not write to
            failures.append(str(error))
            undelivered = 0
        if undelivered or failures:
            self.producer.purge(in_queue=True)  # the batch fails whole; the tracker's retry resends it
            self.producer.poll(0)
            self._failing = True
            reason = failures[0] if failures else f"{undelivered} records not delivered in time"
            raise OSError(f"kafka {self.topic}: {reason}")
        self._failing = False

    def _produce(self, record: Record, delivered: Callable[[KafkaError | None, Message], None]) -> None:
        while True:
            try:
                self.producer.produce(self.topic, record.data, key=record.key, on_delivery=delivered)
                return
            except BufferError:  # the local queue is full: let deliveries drain it
                self.producer.poll(0.05)

    def _client_error(self, error: KafkaError) -> None:
        # Without this, a cluster lost while no events flow left /sink-health at 200 until the
        # next write failed. librdkafka reports the loss here (served by tick's poll when idle).
        if error.code() == KafkaError._ALL_BROKERS_DOWN or error.fatal():
            self._failing = True

    def healthy(self) -> bool:
        if self._failing:  # with no traffic a failed sink would never be retried: ask the cluster
            try:
                self.producer.list_topics(self.topic, timeout=HEALTH_PROBE_TIMEOUT_S)
                self._failing = False
            except KafkaException:
                pass
        return not self._failing

    def max_record_bytes(self) -> int | None:
        return self._max_record_bytes

    def tick(self) -> None:
        self.producer.poll(0)

    def close(self) -> None:
        remaining = self.producer.flush(self.delivery_timeout_s)
        if remaining:
            log.error("kafka %s: %d records still queued at close", self.topic, remaining)
