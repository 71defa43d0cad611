"""A partition paused mid-batch and resumed is fetched again (kafka-python's parked read-ahead)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from consumer_support import create_topic, produce
from kafka import TopicPartition

from runtime import Settings, make_consumer
from runtime.kafka.parked_fetches import drop_parked_records

pytestmark = pytest.mark.broker


def _poll_offsets(consumer: Any, seconds: float) -> dict[int, list[int]]:
    """Offsets polled per partition within ``seconds``."""
    got: dict[int, list[int]] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for tp, records in consumer.poll(timeout_ms=200, max_records=10).items():
            got.setdefault(tp.partition, []).extend(r.offset for r in records)
    return got


def test_resumed_partition_is_read_again_from_where_it_was_sought(
    settings: Settings, admin: Any, unique_name: Callable[..., str]
) -> None:
    """Paused (sought back) while its fetched records were in hand, then resumed: its
    records come again from the sought offset, as the runtime's retry needs."""
    topic = unique_name()
    create_topic(settings, admin, topic, 2)
    for partition in (0, 1):
        produce(settings, topic, [(b"k", b"v", [])] * 3, partition=partition)
    consumer = make_consumer(settings, group_id=None, auto_offset_reset="earliest")
    try:
        partitions = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        consumer.assign(partitions)
        first: dict[Any, list[Any]] = {}
        deadline = time.monotonic() + 30
        while not first and time.monotonic() < deadline:
            first = consumer.poll(timeout_ms=500, max_records=1)
        [(paused, records)] = first.items()
        consumer.seek(paused, records[0].offset)  # as ConsumerRuntime._pause_at
        consumer.pause(paused)
        other = next(tp for tp in partitions if tp != paused)
        assert {other.partition: [0, 1, 2]} == _poll_offsets(consumer, 3)

        consumer.resume(paused)
        drop_parked_records(consumer, [paused])
        assert {paused.partition: [0, 1, 2]} == _poll_offsets(consumer, 3)
    finally:
        consumer.close()
        admin.delete_topics([topic])
