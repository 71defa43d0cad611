"""Reading what a topic holds now, for integration and e2e tests (not a test module).

A reader assigned to the partitions, from the given offsets (or the beginning) up to the
end offsets taken when it starts: for ``read_committed`` that end is the last stable
offset, so records of an open or aborted transaction are never waited for nor returned.
Committed reads go through ``runtime.kafka`` (as every hxbus reader); the
``read_uncommitted`` view, which no hxbus consumer has, is a plain client's
(``raw_kafka``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from raw_kafka import KafkaTopicPartition, raw_consumer

from runtime import Settings, open_consumer
from runtime.kafka import Record, TopicPartition
from runtime.topic_end import read_to_end


def partitions_of(topic: str, count: int) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in range(count)]


def end_offsets(
    settings: Settings, partitions: Sequence[TopicPartition]
) -> dict[TopicPartition, int]:
    consumer = open_consumer(settings)
    try:
        return consumer.end_offsets(list(partitions))
    finally:
        consumer.close()


def topic_ends(settings: Settings, topic: str) -> dict[TopicPartition, int]:
    """The end offset of every partition of ``topic`` now (a test takes them before it
    publishes on a shared topic, and reads from there)."""
    consumer = open_consumer(settings)
    try:
        numbers = consumer.partitions_for_topic(topic)
        return consumer.end_offsets([TopicPartition(topic, p) for p in sorted(numbers)])
    finally:
        consumer.close()


def wait_settled(settings: Settings, partitions: Sequence[TopicPartition]) -> None:
    """Wait until no transaction is open on ``partitions``: the last stable offset has
    reached the high watermark. A commit returns before the broker has written its markers,
    so a read_committed reader right after it may not see the batch yet."""
    committed = open_consumer(settings)
    everything = raw_consumer(settings, isolation_level="read_uncommitted")
    try:
        deadline = time.monotonic() + 30
        while committed.end_offsets(list(partitions)) != {
            TopicPartition(tp.topic, tp.partition): end
            for tp, end in everything.end_offsets(
                [KafkaTopicPartition(tp.topic, tp.partition) for tp in partitions]
            ).items()
        }:
            assert time.monotonic() < deadline, "transactions still open after 30 s"
            time.sleep(0.1)
    finally:
        committed.close()
        everything.close()


def read_records(
    settings: Settings,
    start: Sequence[TopicPartition] | Mapping[TopicPartition, int],
    isolation_level: str = "read_committed",
    *,
    settled: bool = False,
) -> list[Record]:
    """Every record visible to ``isolation_level`` from ``start`` (partitions: from the
    beginning; a mapping: from those offsets) to the end as it is now; with ``settled``,
    once every transaction on the partitions is committed or aborted."""
    if settled:
        wait_settled(settings, list(start))
    if isolation_level != "read_committed":
        return _read_uncommitted(settings, start)
    consumer = open_consumer(settings)
    try:
        starts = start if isinstance(start, Mapping) else consumer.beginning_offsets(list(start))
        return list(read_to_end(consumer, starts, stall_s=30))
    finally:
        consumer.close()


def _read_uncommitted(
    settings: Settings, start: Sequence[TopicPartition] | Mapping[TopicPartition, int]
) -> list[Record]:
    """``read_records`` for ``read_uncommitted``, by a plain client (records of open and
    aborted transactions included)."""
    consumer = raw_consumer(settings, isolation_level="read_uncommitted")
    try:
        partitions = [KafkaTopicPartition(tp.topic, tp.partition) for tp in start]
        consumer.assign(partitions)
        for tp in partitions:
            offset = start[TopicPartition(*tp)] if isinstance(start, Mapping) else None
            if offset is None:
                consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, offset)
        end = consumer.end_offsets(partitions)
        records: list[Record] = []
        deadline = time.monotonic() + 30
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            assert time.monotonic() < deadline, f"not read to {end} in 30 s"
            for batch in consumer.poll(timeout_ms=500).values():
                records += [
                    Record(
                        r.topic,
                        r.partition,
                        r.offset,
                        r.key,
                        r.value,
                        tuple((k, v or b"") for k, v in r.headers or ()),
                        r.timestamp,
                    )
                    for r in batch
                ]
        return records
    finally:
        consumer.close()
