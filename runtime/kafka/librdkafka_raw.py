"""The raw confluent-kafka clients, without hxbus on top: the bench's librdkafka baseline.

The twin of ``runtime.kafka.raw`` (kafka-python): the same interface, and the very
settings the librdkafka transport gives hxbus (``producer_config`` / ``consumer_config``:
acks=all, idempotence, murmur2, the Publisher's linger, batch and compression), so
``hxbus bench`` compares hxbus on librdkafka with librdkafka alone, same events.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence

import confluent_kafka as ck

from runtime.kafka.librdkafka_connection import Connection, consumer_config, producer_config
from runtime.kafka.librdkafka_errors import kafka_errors
from runtime.kafka.options import ConsumerOptions, ProducerOptions
from runtime.kafka.records import TopicPartition
from runtime.settings import Settings
from schemas.errors import BenchFailed

#: One record to send: topic, key, value, headers.
RawMessage = tuple[str, bytes | None, bytes | None, Sequence[tuple[str, bytes]]]


class RawProducer:
    """A plain confluent-kafka ``Producer`` with a Publisher's settings."""

    def __init__(self, settings: Settings, options: ProducerOptions) -> None:
        with kafka_errors("connect the raw librdkafka producer"):
            self._producer = ck.Producer(producer_config(settings, options, Connection()))

    def warm_up(self, topics: Iterable[str]) -> None:
        """Fetch the topics' metadata before the clock starts."""
        with kafka_errors("find topics"):
            for topic in topics:
                self._producer.list_topics(topic, timeout=30)

    def send_all(self, messages: Sequence[RawMessage]) -> float:
        """Send ``messages``, flush; the seconds it took. ``BenchFailed`` if a send failed."""
        failed: list[ck.KafkaError] = []

        def delivered(error: ck.KafkaError | None, _message: ck.Message) -> None:
            if error is not None:
                failed.append(error)

        produce, poll = self._producer.produce, self._producer.poll
        started = time.perf_counter()
        with kafka_errors("raw send"):
            for topic, key, value, headers in messages:
                while True:
                    try:
                        produce(topic, value, key, headers=list(headers), on_delivery=delivered)
                        break
                    except BufferError:  # the local queue is full: let deliveries drain
                        poll(0.05)
                poll(0)
            left = self._producer.flush(120)
        elapsed = time.perf_counter() - started
        if failed or left:
            first = failed[0].str() if failed else "flush timed out"
            raise BenchFailed(f"raw librdkafka producer: {len(failed) + left} failed: {first}")
        return elapsed

    def close(self) -> None:
        with kafka_errors("close the raw librdkafka producer"):
            self._producer.flush(30)
            close = getattr(self._producer, "close", None)
            if callable(close):
                close()


def raw_read(
    settings: Settings, span: Mapping[TopicPartition, tuple[int, int]], timeout_s: float = 120.0
) -> tuple[int, float]:
    """Records read and seconds from the first fetch to the last record, reading ``span``
    (first, end offset per partition) with a plain group-less confluent-kafka ``Consumer``."""
    with kafka_errors("raw librdkafka read"):
        consumer = ck.Consumer(consumer_config(settings, ConsumerOptions(), Connection()))
        try:
            starts = [ck.TopicPartition(tp.topic, tp.partition, o) for tp, (o, _) in span.items()]
            consumer.assign(starts)
            wanted = sum(last - first for first, last in span.values())
            seen, started = 0, time.perf_counter()  # from the first fetch, as the bridge
            deadline = time.monotonic() + timeout_s
            while seen < wanted and time.monotonic() < deadline:
                # consume(n, t) waits for all n: take what is there, else wait for one.
                batch = consumer.consume(500, 0) or consumer.consume(1, 0.5)
                seen += sum(1 for m in batch if m.error() is None)
            if seen < wanted:
                raise BenchFailed(f"raw librdkafka read got {seen} of {wanted} records")
            return seen, max(time.perf_counter() - started, 1e-6)
        finally:
            consumer.close()
