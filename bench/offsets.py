"""Offsets on the shared broker: where a benchmark's records start and end, and lag.

The agreement's topics are shared with every engineer and test on the broker. A bench
bridge runs under a fresh group whose offsets are committed at the current end of its
topics first, so it reads what the benchmark publishes (and whatever others publish
meanwhile, which the raw reader reads too: both see the same records).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from runtime import Settings, open_consumer
from runtime.kafka import ConsumerOptions, TopicPartition
from runtime.topic_end import partitions_of

Offsets = dict[TopicPartition, int]


def end_offsets(settings: Settings, topics: Iterable[str]) -> Offsets:
    """The current end of every partition of ``topics``."""
    consumer = open_consumer(settings)
    try:
        return consumer.end_offsets(partitions_of(consumer, topics))
    finally:
        consumer.close()


def start_group_at(settings: Settings, group: str, offsets: Offsets) -> None:
    """Commit ``group``'s offsets at ``offsets`` (a fresh group then reads from there)."""
    consumer = open_consumer(settings, ConsumerOptions(group_id=group))
    try:
        consumer.commit(offsets)
    finally:
        consumer.close()


class LagMeter:
    """A group's lag (records after its committed offsets) over a set of partitions."""

    def __init__(self, settings: Settings, group: str, topics: Iterable[str]) -> None:
        self._group = group
        self._consumer = open_consumer(settings, ConsumerOptions(group_id=group))
        self._partitions = partitions_of(self._consumer, topics)

    def lag(self) -> int:
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
        self._consumer.close()
