"""Reading what a topic holds, for the bridge end-to-end tests (not a test module).

The e2e tests run on the shared topics: each takes the end offsets before it publishes and
reads from there up to the end as it is after the bridges stopped.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from kafka import TopicPartition

from runtime import Settings, make_consumer


def topic_ends(settings: Settings, topic: str) -> dict[TopicPartition, int]:
    """The end offset of every partition of ``topic`` now."""
    consumer = make_consumer(settings, group_id=None)
    try:
        numbers = consumer.partitions_for_topic(topic) or set()
        ends: dict[TopicPartition, int] = consumer.end_offsets(
            [TopicPartition(topic, p) for p in sorted(numbers)]
        )
        return ends
    finally:
        consumer.close()


def read_from(
    settings: Settings, start: Mapping[TopicPartition, int], isolation_level: str = "read_committed"
) -> list[Any]:
    """Every record from ``start`` to the end offsets as they are when it begins."""
    consumer = make_consumer(settings, group_id=None, isolation_level=isolation_level)
    try:
        partitions = list(start)
        consumer.assign(partitions)
        for tp, offset in start.items():
            consumer.seek(tp, offset)
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
