"""A partition paused mid-batch and resumed is fetched again (in kafka-python 3.0.12 only
thanks to ``runtime.kafka.parked_fetches``: it kept a read-ahead parked for ever)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from consumer_support import create_topic, produce

from runtime import Settings, open_consumer
from runtime.kafka import Admin, Consumer, Record, TopicPartition

pytestmark = pytest.mark.broker


def _poll_offsets(consumer: Consumer, seconds: float) -> dict[int, list[int]]:
    """Offsets polled per partition within ``seconds``."""
    got: dict[int, list[int]] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for tp, records in consumer.poll(0.2, 10).items():
            got.setdefault(tp.partition, []).extend(r.offset for r in records)
    return got


def test_resumed_partition_is_read_again_from_where_it_was_sought(
    settings: Settings, admin: Admin, unique_name: Callable[..., str]
) -> None:
    """Paused (sought back) while its fetched records were in hand, then resumed: its
    records come again from the sought offset, as the runtime's retry needs."""
    topic = unique_name()
    create_topic(settings, admin, topic, 2)
    for partition in (0, 1):
        produce(settings, topic, [(b"k", b"v", [])] * 3, partition=partition)
    consumer = open_consumer(settings)
    try:
        partitions = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        consumer.assign(partitions)
        first: dict[TopicPartition, list[Record]] = {}
        deadline = time.monotonic() + 30
        while not first and time.monotonic() < deadline:
            first = consumer.poll(0.5, 1)
        [(paused, records)] = first.items()
        consumer.seek(paused, records[0].offset)  # as ConsumerRuntime._pause_at
        consumer.pause([paused])
        other = next(tp for tp in partitions if tp != paused)
        assert {other.partition: [0, 1, 2]} == _poll_offsets(consumer, 3)

        consumer.resume([paused])
        assert {paused.partition: [0, 1, 2]} == _poll_offsets(consumer, 3)
    finally:
        consumer.close()
        admin.delete_topics([topic])
