"""The raw kafka-python clients, without hxbus on top: the bench's baseline.

``hxbus bench`` measures the Publisher and a bridge against the client they stand on,
given the very same settings (``producer_config`` / ``consumer_config``). Those raw
clients are built here, so that no module outside ``runtime.kafka`` imports a client.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence

from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTopicPartition

from runtime.kafka.errors import kafka_errors
from runtime.kafka.kafka_python import consumer_config, producer_config
from runtime.kafka.options import ConsumerOptions, ProducerOptions
from runtime.kafka.records import TopicPartition
from runtime.settings import Settings
from schemas.errors import BenchFailed

#: One record to send: topic, key, value, headers.
RawMessage = tuple[str, bytes | None, bytes | None, Sequence[tuple[str, bytes]]]


class RawProducer:
    """A plain ``KafkaProducer`` with a Publisher's settings."""

    def __init__(self, settings: Settings, options: ProducerOptions) -> None:
        with kafka_errors("connect the raw producer"):
            self._producer = KafkaProducer(**producer_config(settings, options))

    def warm_up(self, topics: Iterable[str]) -> None:
        """Fetch the topics' metadata before the clock starts."""
        with kafka_errors("find topics"):
            for topic in topics:
                self._producer.partitions_for(topic)

    def send_all(self, messages: Sequence[RawMessage]) -> float:
        """Send ``messages``, flush; the seconds it took. ``BenchFailed`` if a send failed."""
        started = time.perf_counter()
        with kafka_errors("raw send"):
            futures = [
                self._producer.send(topic, value=value, key=key, headers=list(headers))
                for topic, key, value, headers in messages
            ]
            self._producer.flush()
        elapsed = time.perf_counter() - started
        failed = [f.exception for f in futures if f.failed()]
        if failed:
            raise BenchFailed(f"raw producer: {len(failed)} sends failed, first: {failed[0]}")
        return elapsed

    def close(self) -> None:
        with kafka_errors("close the raw producer"):
            self._producer.close()


def raw_read(
    settings: Settings,
    span: Mapping[TopicPartition, tuple[int, int]],
    timeout_s: float = 120.0,
    cpu: list[float] | None = None,
) -> tuple[int, float]:
    """Records read and seconds from the first fetch to the last record, reading ``span``
    (first, end offset per partition) with a plain group-less ``KafkaConsumer``; the
    process's CPU seconds over the same span are appended to ``cpu`` when given."""
    with kafka_errors("raw read"):
        consumer = KafkaConsumer(**consumer_config(settings, ConsumerOptions()))
        try:
            consumer.assign([KafkaTopicPartition(tp.topic, tp.partition) for tp in span])
            for tp, (first, _) in span.items():
                consumer.seek(KafkaTopicPartition(tp.topic, tp.partition), first)
            wanted = sum(last - first for first, last in span.values())
            seen, started = 0, time.perf_counter()  # from the first fetch, as the bridge
            cpu_started = time.process_time()
            deadline = time.monotonic() + timeout_s
            while seen < wanted and time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=500, max_records=500).values():
                    seen += len(records)
            if seen < wanted:
                raise BenchFailed(f"raw read got {seen} of {wanted} records")
            if cpu is not None:
                cpu.append(time.process_time() - cpu_started)
            return seen, max(time.perf_counter() - started, 1e-6)
        finally:
            consumer.close()
