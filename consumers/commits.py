"""Who commits a batch's offsets (consumers.loop, step 6): two small strategies.

- ``ConsumerCommits``: the consumer commits, asynchronously, after the dedupe store
  marked the batch (``consumers.offsets``); a commit that failed goes again with the next
  one, and synchronously when the loop stops.
- ``TransactionCommits``: a sink that owns the commit (``OffsetCommitter``, the
  transactional Kafka sink) commits the batch's next offsets with
  ``consumer.group_metadata()`` in its transaction, together with the batch's records,
  right after the flush and before the dedupe mark; the consumer never commits. If the
  flush or that commit fails, the transaction is aborted and the loop seeks every
  partition of the batch back to where the batch began, so the batch comes again whole.

The runtime picks one when it is built (``commits_for``); the loop calls both hooks of
whichever it has, in its order, without asking which.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from consumers.offsets import CommitTracker
from runtime.kafka import Consumer, GroupMetadata, TopicPartition
from schemas.errors import BrokerError, HxError


class OffsetCommitter(Protocol):
    """A sink that commits the consumer's offsets in its own transaction (exactly once)."""

    def commit_offsets(
        self, offsets: Mapping[TopicPartition, int], group_metadata: GroupMetadata
    ) -> None:
        """Commit the batch's records with ``offsets`` (next offset per partition); raise
        (having aborted) when that failed."""

    def abort(self) -> None:
        """Abort what the batch sent (nothing of it becomes visible)."""


class CommitStrategy(Protocol):
    """The two moments of a batch where offsets may be committed."""

    def before_mark(
        self, consumer: Consumer, positions: Mapping[TopicPartition, int], flushed: bool
    ) -> HxError | None:
        """After the flush, before the dedupe mark; the error when the batch must come
        again whole (nothing of it counts)."""

    def after_mark(self, consumer: Consumer, positions: Mapping[TopicPartition, int]) -> None:
        """After the dedupe mark."""


class ConsumerCommits:
    """The consumer commits what is done for good, after the mark (asynchronously)."""

    def __init__(self, offsets: CommitTracker) -> None:
        self._offsets = offsets

    def before_mark(
        self, consumer: Consumer, positions: Mapping[TopicPartition, int], flushed: bool
    ) -> HxError | None:
        return None

    def after_mark(self, consumer: Consumer, positions: Mapping[TopicPartition, int]) -> None:
        self._offsets.advance(positions)
        self._offsets.commit_async(consumer)


class TransactionCommits:
    """The sink commits the offsets in its transaction, before the mark."""

    def __init__(self, committer: OffsetCommitter) -> None:
        self._committer = committer

    def before_mark(
        self, consumer: Consumer, positions: Mapping[TopicPartition, int], flushed: bool
    ) -> HxError | None:
        try:
            if not flushed:
                raise BrokerError("handler.flush failed: the batch's transaction is aborted")
            if positions:
                self._committer.commit_offsets(positions, consumer.group_metadata())
            else:
                self._committer.abort()  # nothing done for good: nothing may become visible
        except HxError as exc:
            self._committer.abort()
            return exc
        return None

    def after_mark(self, consumer: Consumer, positions: Mapping[TopicPartition, int]) -> None:
        return None


def commits_for(committer: OffsetCommitter | None, offsets: CommitTracker) -> CommitStrategy:
    """``TransactionCommits`` when a sink owns the commit, else ``ConsumerCommits``."""
    if committer is None:
        return ConsumerCommits(offsets)
    return TransactionCommits(committer)
