"""The partitions a consumer worker holds: rebalances, pauses and resumes.

Rebalance listeners may run on the client's own thread (kafka-python's IO thread), the
loop on its own: ``Holdings`` keeps what both touch behind one lock. The loop reads
``partitions`` (a role's readiness probe says ready only while it is not empty), pauses a
partition at the offset to retry, and resumes it when its backoff is over; the listener
commits what is left of a partition before it goes (``consumers.offsets``) and notes it,
so that the loop forgets its retry state.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

import structlog

from consumers.offsets import CommitTracker
from consumers.retry import RetryBook
from runtime.kafka import Consumer, TopicPartition

log = structlog.get_logger("hxbus.consumer")


class Holdings:
    """What one worker holds, and the bookkeeping of partitions coming and going."""

    def __init__(self, offsets: CommitTracker, retries: RetryBook[TopicPartition]) -> None:
        self._offsets = offsets
        self._retries = retries
        self._lock = threading.Lock()
        self._revoked: set[TopicPartition] = set()
        #: The partitions held now (kept by the rebalance listener).
        self.partitions: frozenset[TopicPartition] = frozenset()

    def listener(self) -> CommitOnRevoke:
        """The rebalance listener to subscribe with."""
        return CommitOnRevoke(self)

    def hand_over(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """From the listener: what to commit for ``partitions`` before they go, and a note
        to forget their retry state."""
        gone = set(partitions)
        with self._lock:
            self._revoked |= gone
            self.partitions = self.partitions - gone
        return self._offsets.hand_over(gone)

    def note_assigned(self, partitions: Iterable[TopicPartition]) -> None:
        """From the listener: these partitions are now ours."""
        with self._lock:
            self.partitions = self.partitions | set(partitions)

    def forget_revoked(self) -> None:
        """On the loop's thread: drop the retry state of partitions gone since."""
        with self._lock:
            revoked, self._revoked = self._revoked, set()
        if revoked:
            self._retries.forget(revoked)

    def pause_at(self, consumer: Consumer, rewind: Mapping[TopicPartition, int]) -> None:
        """Seek each partition still held back to its offset, and pause it."""
        owned = consumer.assignment()
        for tp, offset in rewind.items():
            if tp in owned:
                consumer.seek(tp, offset)
                consumer.pause([tp])

    def resume_due(self, consumer: Consumer, now: float) -> None:
        """Resume the partitions whose retry backoff is over."""
        due = self._retries.take_due(now)
        if due:
            owned = consumer.assignment()
            consumer.resume([tp for tp in due if tp in owned])


class CommitOnRevoke:
    """Commits what was handled before partitions go to another consumer.

    The loop sends a commit after every batch, before it polls again, and rebalances
    happen inside ``poll``; so what is left here is a commit not yet confirmed, or one
    that failed: ``on_revoked`` returns it and the transport commits it (kafka-python
    runs this on its IO thread, where it awaits ``commit_async``).
    """

    def __init__(self, holdings: Holdings) -> None:
        self._holdings = holdings

    def on_revoked(self, partitions: frozenset[TopicPartition]) -> Mapping[TopicPartition, int]:
        return self._holdings.hand_over(partitions)

    def on_assigned(self, partitions: frozenset[TopicPartition]) -> None:
        self._holdings.note_assigned(partitions)
        log.info("partitions_assigned", partitions=sorted(f"{t}/{p}" for t, p in partitions))

    def on_lost(self, partitions: frozenset[TopicPartition]) -> None:
        # Thrown out of the group: a commit would be refused; forget and let others redo.
        self._holdings.hand_over(partitions)
