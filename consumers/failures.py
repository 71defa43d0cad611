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
from runtime.logging import info_lines
from runtime.metrics import AUTHORITY_REJECTIONS, RETRIED
from runtime.metrics import topic_kind as kind_of
from schemas import EVENT_TYPES
from schemas.errors import AuthorityRefused, AuthorityUnknown, HxError, public_text

#: Reason recorded when ``handler.flush()`` failed for a batch (or its transaction).
FLUSH_FAILED = "flush_failed"
#: The line of each dead-lettered message (a warning; written with its batch: ``flush``).
DEAD_LETTERED_EVENT = "message_dead_lettered"


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
        self._consumer: Consumer | None = None
        #: ``reading_behind(None)``'s answer for the batch in hand (None: not asked yet).
        self._behind: bool | None = None
        #: The batch's ``message_dead_lettered`` lines, written at ``flush``.
        self._lines: list[dict[str, Any]] = []
        #: ``hx_authority_rejections_total`` children, looked up once per label set.
        self._rejections: dict[tuple[str, str], Any] = {}

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

    @property
    def consumer(self) -> Consumer | None:
        """The consumer of the batch in hand (``reading_behind`` asks it for positions);
        the runtime sets it at the start of every batch."""
        return self._consumer

    @consumer.setter
    def consumer(self, consumer: Consumer | None) -> None:
        self._consumer = consumer
        self._behind = None  # a new batch: ``reading_behind(None)`` asks again

    def reading_behind(self, stopped: TopicPartition | None) -> bool:
        """Whether a partition this worker holds, other than ``stopped`` and those held
        back for a retry of their own, has records it has not read yet (its position is
        below the high watermark the last fetch saw). Partitions waiting on a retry do
        not count: two inbox partitions each stopped at an unknown hit would otherwise
        keep each other waiting to the ceiling.

        Asked without ``stopped`` (the register lookup, on a repeated miss), it is
        answered once per batch: positions move only at a poll, and every partition's
        position and high watermark per miss cost a bridge ~1 % of its loop; an answer
        gone stale within the batch only moves a register load to the next batch."""
        if stopped is None:
            behind = self._behind
            if behind is None:
                behind = self._behind = self._reading_behind(None)
            return behind
        return self._reading_behind(stopped)

    def _reading_behind(self, stopped: TopicPartition | None) -> bool:
        consumer = self._consumer
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
        error = poison.error
        if isinstance(error, AuthorityRefused):
            event_type = poison.event_type if poison.event_type in EVENT_TYPES else "unknown"
            child = self._rejections.get((event_type, error.rule))
            if child is None:
                child = AUTHORITY_REJECTIONS.labels(self.role, event_type, error.rule)
                self._rejections[(event_type, error.rule)] = child
            child.inc()
        self._lines.append(
            {
                "topic": tp.topic,
                "partition": tp.partition,
                "offset": record.offset,
                "reason": poison.reason,
                "error_class": type(error).__name__,
                # Field path and rule, never a value (schemas.errors.public_text).
                "error": public_text(error),
                # A bug met by this input (not an HxError): where it happened is what a fix
                # needs; the frames only, since the exception's text may quote the input.
                "traceback": value_free_traceback(error) if poison.reason == UNEXPECTED else None,
            }
        )

    def flush(self) -> set[Origin]:
        """Wait for the batch's DLQ writes (``DeadLetterSink.flush``: the origins NOT
        acknowledged), then write the batch's ``message_dead_lettered`` lines in one go
        (``runtime.logging.info_lines``, at warning level), as the bridge writes its
        delivery lines: a stream of forged messages costs a line each, not a structlog
        call each. The runtime calls this once per batch, before it commits."""
        try:
            return self.dlq.flush()
        finally:
            lines, self._lines = self._lines, []
            info_lines(self.log, DEAD_LETTERED_EVENT, lines, level="warning")

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
