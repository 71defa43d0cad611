"""Reading what a topic holds now, for integration and e2e tests (not a test module).

A reader assigned to the partitions, from the given offsets (or the beginning) up to the
end offsets taken when it starts: for ``read_committed`` that end is the last stable
offset, so records of an open or aborted transaction are never waited for nor returned.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from kafka import TopicPartition

from runtime import Settings, make_consumer


def partitions_of(topic: str, count: int) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in range(count)]


def end_offsets(settings: Settings, partitions: Sequence[TopicPartition]) -> dict[Any, int]:
    consumer = make_consumer(settings, group_id=None)
    try:
        ends: dict[Any, int] = consumer.end_offsets(list(partitions))
        return ends
    finally:
        consumer.close()


def topic_ends(settings: Settings, topic: str) -> dict[TopicPartition, int]:
    """The end offset of every partition of ``topic`` now (a test takes them before it
    publishes on a shared topic, and reads from there)."""
    consumer = make_consumer(settings, group_id=None)
    try:
        numbers = consumer.partitions_for_topic(topic) or set()
        ends: dict[TopicPartition, int] = consumer.end_offsets(
            [TopicPartition(topic, p) for p in sorted(numbers)]
        )
        return ends
    finally:
        consumer.close()


def wait_settled(settings: Settings, partitions: Sequence[TopicPartition]) -> None:
    """Wait until no transaction is open on ``partitions``: the last stable offset has
    reached the high watermark. A commit returns before the broker has written its markers,
    so a read_committed reader right after it may not see the batch yet."""
    committed = make_consumer(settings, group_id=None, isolation_level="read_committed")
    everything = make_consumer(settings, group_id=None)
    try:
        deadline = time.monotonic() + 30
        while committed.end_offsets(list(partitions)) != everything.end_offsets(list(partitions)):
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
) -> list[Any]:
    """Every record visible to ``isolation_level`` from ``start`` (partitions: from the
    beginning; a mapping: from those offsets) to the end as it is now; with ``settled``,
    once every transaction on the partitions is committed or aborted."""
    if settled:
        wait_settled(settings, list(start))
    consumer = make_consumer(settings, group_id=None, isolation_level=isolation_level)
    try:
        partitions = list(start)
        consumer.assign(partitions)
        if isinstance(start, Mapping):
            for tp, offset in start.items():
                consumer.seek(tp, offset)
        else:
            consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        records: list[Any] = []
        deadline = time.monotonic() + 30
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            assert time.monotonic() < deadline, f"not read to {end} in 30 s"
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()
