"""Offsets that are done for good but not yet confirmed committed, and committing them.

The loop hands over a partition's next offset only when every message before it is
durable (flushed, or acked by the DLQ). From then on the commit may be lazy: losing it
only means a redelivery, which the dedupe store and the sink's idempotency absorb. So
the loop commits asynchronously after every batch (a synchronous commit would cost a
broker round trip per batch, about a fifth of the loop's time) and synchronously once
when it stops, and the rebalance listener commits what is left of a partition before it
goes to another consumer. A failed commit is sent again with the next one.

Positions live here until the broker confirms them. Commit callbacks run on the polling
thread but rebalance listeners may run on the client's own (kafka-python's IO thread): a
lock guards the maps.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

import structlog

from runtime import Settings, open_consumer
from runtime.kafka import Consumer, ConsumerOptions, TopicPartition
from runtime.metrics import COMMIT_FAILURES
from runtime.topic_end import partitions_of
from schemas.errors import BrokerError

log = structlog.get_logger("hxbus.consumer")


class CommitTracker:
    """Per partition: the offset to commit next, and the one already sent to the broker."""

    def __init__(self, role: str) -> None:
        self._role = role
        self._lock = threading.Lock()
        self._done: dict[TopicPartition, int] = {}
        self._sent: dict[TopicPartition, int] = {}
        #: Never forgotten (``advanced``): what this process settled, for the register
        #: role's read marks, which outlive the commit and the assignment.
        self._advanced: dict[TopicPartition, int] = {}

    def advance(self, positions: Mapping[TopicPartition, int]) -> None:
        """Everything before ``positions`` is durable: they may be committed."""
        with self._lock:
            self._done.update(positions)
            self._advanced.update(positions)

    def advanced(self) -> dict[TopicPartition, int]:
        """The latest position done for good (flushed and marked) of each partition this
        tracker ever advanced, committed or not, held or handed over: a copy."""
        with self._lock:
            return dict(self._advanced)

    def pending(self) -> bool:
        """Whether some position is not yet sent (a first try, or a retry after a failure)."""
        with self._lock:
            return any(self._sent.get(tp) != pos for tp, pos in self._done.items())

    def commit_async(self, consumer: Consumer) -> None:
        """Send the positions not sent yet; the broker's answer arrives in a later poll."""
        owned = consumer.assignment()
        with self._lock:
            for tp in [tp for tp in self._done if tp not in owned]:
                del self._done[tp]  # handed to another consumer: it starts from its commit
                self._sent.pop(tp, None)
            offsets = {tp: pos for tp, pos in self._done.items() if self._sent.get(tp) != pos}
            self._sent.update(offsets)
        if not offsets:
            return
        try:
            consumer.commit_async(offsets, self._answered)
        except BrokerError as exc:
            self._failed(offsets, exc)

    def commit_sync(self, consumer: Consumer) -> None:
        """Commit every done position and wait (when the loop stops)."""
        with self._lock:
            offsets = dict(self._done)
        if not offsets:
            return
        try:
            consumer.commit(offsets)
        except BrokerError as exc:
            self._failed(offsets, exc)
            return
        self._confirmed(offsets)

    def hand_over(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """Forget ``partitions`` (revoked or lost); what of them is left to commit."""
        gone = set(partitions)
        with self._lock:
            left = {tp: self._done.pop(tp) for tp in gone if tp in self._done}
            for tp in gone:
                self._sent.pop(tp, None)
        return left

    def _answered(
        self, positions: Mapping[TopicPartition, int], error: BaseException | None
    ) -> None:
        if error is not None:
            self._failed(positions, error)
        else:
            self._confirmed(positions)

    def _confirmed(self, positions: Mapping[TopicPartition, int]) -> None:
        with self._lock:
            for tp, pos in positions.items():
                if self._done.get(tp) == pos:
                    del self._done[tp]
                if self._sent.get(tp) == pos:
                    del self._sent[tp]

    def _failed(self, positions: Mapping[TopicPartition, int], error: BaseException) -> None:
        COMMIT_FAILURES.labels(self._role).inc()
        log.warning("commit_failed", partitions=len(positions), error=str(error))
        with self._lock:
            for tp, pos in positions.items():
                if self._sent.get(tp) == pos:
                    del self._sent[tp]  # send again with the next commit


def start_group_at_end(settings: Settings, group: str, topics: Iterable[str]) -> None:
    """Commit ``group``'s offsets at the end of every partition of ``topics``.

    For a consumer group that must see only what is published from now on (the demo's
    per-run groups, tests on a shared broker); never for a group that owns data.
    """
    consumer = open_consumer(settings, ConsumerOptions(group_id=group))
    try:
        partitions = partitions_of(consumer, topics)
        consumer.commit(consumer.end_offsets(partitions))
    finally:
        consumer.close()
