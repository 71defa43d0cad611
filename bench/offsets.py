"""Offsets on the shared broker: where a benchmark's records start and end, and lag.

The agreement's topics are shared with every engineer and test on the broker. A bench
bridge runs under a fresh group whose offsets are committed at the current end of its
topics first, so it reads what the benchmark publishes (and whatever others publish
meanwhile, which the raw reader reads too: both see the same records).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from runtime import Settings, consumer_config, kafka_errors

Offsets = dict[TopicPartition, int]


def partitions_of(consumer: Any, topics: Iterable[str]) -> list[TopicPartition]:
    return [
        TopicPartition(topic, p)
        for topic in topics
        for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]


def end_offsets(settings: Settings, topics: Iterable[str]) -> Offsets:
    """The current end of every partition of ``topics``."""
    with kafka_errors("read end offsets"):
        consumer = KafkaConsumer(**consumer_config(settings, group_id=None))
        try:
            return dict(consumer.end_offsets(partitions_of(consumer, topics)))
        finally:
            consumer.close()


def start_group_at(settings: Settings, group: str, offsets: Offsets) -> None:
    """Commit ``group``'s offsets at ``offsets`` (a fresh group then reads from there)."""
    with kafka_errors(f"commit start offsets of {group}"):
        consumer = KafkaConsumer(**consumer_config(settings, group_id=group))
        try:
            consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
        finally:
            consumer.close(autocommit=False)


class LagMeter:
    """A group's lag (records after its committed offsets) over a set of partitions."""

    def __init__(self, settings: Settings, group: str, topics: Iterable[str]) -> None:
        self._group = group
        with kafka_errors("connect the lag meter"):
            self._consumer = KafkaConsumer(**consumer_config(settings, group_id=group))
            self._partitions = partitions_of(self._consumer, topics)

    def lag(self) -> int:
        with kafka_errors(f"read the lag of {self._group}"):
            ends = self._consumer.end_offsets(self._partitions)
            total = 0
            for tp in self._partitions:
                committed = self._consumer.committed(tp) or 0
                total += max(0, ends[tp] - committed)
            return total

    def wait_caught_up(self, timeout_s: float) -> bool:
        """True once the lag is 0, False if it is not within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.lag() == 0:
                return True
            time.sleep(0.2)
        return False

    def close(self) -> None:
        self._consumer.close(autocommit=False)
