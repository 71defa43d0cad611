"""Whether a worker has read the backlog of the partitions it holds.

A role that acts on what it has *not* seen must wait for this: the tracker sends a second
notice for a hit whose confirmation it has not read, so a tracker rebuilt from the topics
(or back after a long stop) must first read every partition it holds up to its end, or it
sends a notice the backlog already answers. Time is no measure of that: a group join can
take longer than any quiet period, and traffic written a moment ago can still sit behind
the records being read (both happened: the tracker once judged itself caught up by either
clock and sent a second notice twice).

The loop's thread calls ``check`` after each poll; any thread may ask ``read``. The answer
holds until the worker's partitions change: a partition handed over in a rebalance may
bring a backlog of its own.
"""

from __future__ import annotations

import threading

from runtime.kafka import Consumer, TopicPartition
from schemas.errors import HxError


class Backlog:
    """Latched "read up to the end" for the partitions a worker holds."""

    def __init__(self) -> None:
        self._read = threading.Event()
        self._partitions: frozenset[TopicPartition] = frozenset()

    def read(self) -> bool:
        """Whether every partition held was read to the end its last fetch saw (any thread)."""
        return self._read.is_set()

    def check(self, consumer: Consumer, partitions: frozenset[TopicPartition]) -> None:
        """After a poll, on the loop's thread: latch once each partition's position has
        reached its high watermark (a partition held back for a retry was sought back, so
        it is still behind). A partition whose watermark no fetch has told yet is behind."""
        if partitions != self._partitions:
            self._partitions = partitions
            self._read.clear()
        if self._read.is_set() or not partitions:
            return
        if all(read_to_end(consumer, tp) is True for tp in partitions):
            self._read.set()


def read_to_end(consumer: Consumer, tp: TopicPartition) -> bool | None:
    """Whether ``tp``'s position reached the high watermark its last fetch saw; None when
    either is not known (no fetch has told the end yet, or the client could not say)."""
    try:
        highwater = consumer.highwater(tp)
        position = consumer.position(tp) if highwater is not None else None
    except HxError:
        return None
    if highwater is None or position is None:
        return None
    return position >= highwater
