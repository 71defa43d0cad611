"""A message that failed, in the consumer loop: retry its partition, or dead-letter it.

``Failures`` is the part of ``ConsumerRuntime`` that decides (consumers.loop, step 3): a
retriable failure stops the partition at the failed offset and schedules a retry
(``RetryBook``) until the policy gives up; anything else, and a retry past the policy,
goes to the DLQ with its reason, counted and logged (field path and rule, never a value).
"""

from __future__ import annotations

import time
from typing import Any

from consumers.backlog import read_to_end
from consumers.batch_work import BatchWork, Done, PartitionWork, RunStats
from consumers.delivery import Outcome
from consumers.dlq import RETRIES_EXHAUSTED, DeadLetterSink, Origin
from consumers.reading import UNEXPECTED, Poison, header_pairs
from consumers.retry import RetryBook, RetryPolicy
from runtime import value_free_traceback
from runtime.kafka import Consumer, Record, TopicPartition
from runtime.metrics import AUTHORITY_REJECTIONS, RETRIED
from runtime.metrics import topic_kind as kind_of
from schemas import EVENT_TYPES
from schemas.errors import AuthorityRefused, AuthorityUnknown, HxError, public_text

#: Reason recorded when ``handler.flush()`` failed for a batch (or its transaction).
FLUSH_FAILED = "flush_failed"


class Failures:
    """Retries and dead letters of one runtime (its DLQ, retry book and policy)."""

    def __init__(
        self, role: str, dlq: DeadLetterSink, policy: RetryPolicy, stats: RunStats, log: Any
    ) -> None:
        self.role = role
        self.dlq = dlq
        self.policy = policy
        self.retries: RetryBook[TopicPartition] = RetryBook(policy)
        self.stats = stats
        self.log = log
        #: The consumer of the batch in hand (``reading_behind`` asks it for positions).
        self.consumer: Consumer | None = None

    def retry_or_give_up(
        self,
        tp: TopicPartition,
        record: Record,
        error: HxError,
        event_type: str | None,
        work: PartitionWork,
    ) -> bool:
        """A retriable failure: stop the partition here (True), or, past the policy's
        ``dead_letter_after``, dead-letter the message and go on (False)."""
        state = self.retries.get(tp)
        attempts = state.attempts if state is not None and state.offset == record.offset else 0
        if isinstance(error, AuthorityUnknown):
            # Never accepted blindly, never waited on for ever (a forged hit naming no
            # alert must not stall its inbox): past ``unknown_after``, a refusal — but
            # only once the other partitions were read to their ends, where the fact
            # would be if it existed (up to ``unknown_ceiling``): a receiver catching up
            # on a backlog reads a hit long before the alert it names on another topic.
            limit = self.policy.unknown_after
            if self.reading_behind(tp):
                limit = self.policy.unknown_ceiling
            if attempts + 1 >= limit:
                self.dead_letter(tp, record, Poison.of(error, event_type), work)
                return False
        elif self.policy.exhausted(attempts + 1):
            self.dead_letter(tp, record, Poison(error, RETRIES_EXHAUSTED, event_type), work)
            return False
        self.schedule_retry(tp, record.offset, error.reason, public_text(error))
        work.stopped_at = record.offset
        return True

    def reading_behind(self, stopped: TopicPartition | None) -> bool:
        """Whether a partition this worker holds, other than ``stopped`` and those held
        back for a retry of their own, has records it has not read yet (its position is
        below the high watermark the last fetch saw). Partitions waiting on a retry do
        not count: two inbox partitions each stopped at an unknown hit would otherwise
        keep each other waiting to the ceiling."""
        consumer = self.consumer
        if consumer is None:
            return False
        for tp in set(consumer.assignment()) - {stopped}:
            if self.retries.get(tp) is not None:
                continue
            # Nothing known of it (None): it does not hold the refusal back.
            if read_to_end(consumer, tp) is False:
                return True
        return False

    def dead_letter(
        self, tp: TopicPartition, record: Record, poison: Poison, work: PartitionWork
    ) -> None:
        self.dlq.send(
            Origin(tp.topic, tp.partition, record.offset),
            key=record.key,
            value=record.value,
            headers=header_pairs(record),
            error=poison.error,
            reason=poison.reason,
        )
        work.done.append(Done(record.offset, Outcome.DEAD_LETTERED, poison.event_type or "unknown"))
        if isinstance(poison.error, AuthorityRefused):
            event_type = poison.event_type if poison.event_type in EVENT_TYPES else "unknown"
            AUTHORITY_REJECTIONS.labels(self.role, event_type, poison.error.rule).inc()
        self.log.warning(
            "message_dead_lettered",
            topic=tp.topic,
            partition=tp.partition,
            offset=record.offset,
            reason=poison.reason,
            error_class=type(poison.error).__name__,
            # Field path and rule, never a value (schemas.errors.public_text).
            error=public_text(poison.error),
            # A bug met by this input (not an HxError): where it happened is what a fix
            # needs; the frames only, since the exception's text may quote the input.
            traceback=value_free_traceback(poison.error) if poison.reason == UNEXPECTED else None,
        )

    def schedule_retry(self, tp: TopicPartition, offset: int, reason: str, error: str) -> None:
        state = self.retries.fail(tp, offset, reason, time.monotonic())
        self.stats.retried += 1
        RETRIED.labels(self.role, kind_of(tp.topic), reason).inc()
        self.log.warning(
            "partition_retry",
            topic=tp.topic,
            partition=tp.partition,
            offset=offset,
            attempt=state.attempts,
            reason=reason,
            backoff_s=round(state.resume_at - time.monotonic(), 3),
            error=error,
        )

    def rewind_batch(self, work: BatchWork, error: HxError) -> dict[TopicPartition, int]:
        """Where each partition of a batch that comes again whole starts (a retry of each
        scheduled there)."""
        start: dict[TopicPartition, int] = {}
        for tp, partition_work in work.items():
            first = partition_work.start()
            if first is not None:
                start[tp] = first
                self.schedule_retry(tp, first, FLUSH_FAILED, public_text(error))
        return start
