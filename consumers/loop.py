"""The consumer loop every receiver stands on: poll, read, dedupe, handle, flush, commit.

One ``ConsumerRuntime`` is one worker: it owns one ``runtime.kafka.Consumer``, created on
the thread that runs it and never shared (a Kafka consumer is not thread-safe). Run
more workers of a group as more runtimes (processes, or threads each with its own runtime,
handler and dedupe store connection).

One polled batch goes through these steps, in this order, and that order is the guarantee:

1. read every record (``MessageReader``): poison becomes a DLQ entry, not an exception;
2. ask the dedupe store which message ids were handled before (one query per batch);
3. per partition, in offset order: skip duplicates; judge the rest by the authority rules
   (``AuthorityGate``: a refusal is dead-lettered ``not_authorized``, an alert, hit or
   request not known yet is first looked for in the rest of the partition's batch, then
   retried); skip expired alerts; hand the rest to
   ``handler.handle``; a retriable failure stops that partition at the failed offset
   (the rest of the batch goes on), any other failure dead-letters that one message;
4. ``handler.flush()`` (the sink is durable), then the authority facts the batch taught
   are committed (rolled back when the flush failed), and wait for the DLQ writes;
5. mark the handled message ids in the dedupe store (one transaction);
6. commit, per partition, the offset after the last message that is done for good
   (asynchronously: see ``consumers.offsets``; synchronously when the loop stops).

A partition stopped in step 3, or whose flush or DLQ write failed in step 4, is sought
back to the first offset not done, paused, and resumed after a backoff (``RetryBook``),
while ``poll`` keeps the other partitions and the group membership alive.

A crash anywhere loses nothing (nothing is committed before it is durable) and delivers
nothing twice: after step 4 the sink's own idempotency on the message id absorbs a
redelivery, after step 5 the dedupe store does.

A sink that owns the commit (``offset_committer``, the transactional Kafka sink) replaces
step 6: after step 4 the runtime hands it the batch's next offsets and
``consumer.group_metadata()``, and the sink commits them in its transaction together with
the batch's records (``send_offsets_to_transaction``); the consumer itself then never
commits. If the flush or that commit fails, the transaction is aborted and every partition
of the batch is sought back to where the batch began, so the batch comes again whole
(step 5 happens only after the commit).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import FrameType
from typing import Protocol

import structlog

from consumers.authority_gate import AuthorityGate
from consumers.dedupe import DedupeStore
from consumers.delivery import Delivery, Handler, Outcome
from consumers.dlq import RETRIES_EXHAUSTED, DeadLetterSink, Origin
from consumers.lag import DEFAULT_LAG_EVERY_S, LagMonitor
from consumers.offsets import CommitTracker
from consumers.reading import (
    UNEXPECTED,
    Decoder,
    MessageReader,
    Poison,
    expired,
    header_pairs,
    utc_now,
)
from consumers.retry import RetryBook, RetryPolicy
from runtime import Settings, Verifier, open_consumer, value_free_traceback
from runtime.idle import IdleClock
from runtime.kafka import Consumer, ConsumerOptions, GroupMetadata, Record, TopicPartition
from runtime.metrics import (
    AUTHORITY_REJECTIONS,
    BATCH_SECONDS,
    CONSUMED,
    RETRIED,
    STALLED_PARTITIONS,
)
from runtime.metrics import topic_kind as kind_of
from runtime.metrics_server import serving as metrics_serving
from schemas import EVENT_TYPES
from schemas.errors import AuthorityRefused, AuthorityUnknown, BrokerError, HxError, public_text

log = structlog.get_logger("hxbus.consumer")

#: Prune the dedupe store this often (seconds) while running.
PRUNE_EVERY_S = 3600.0
#: Reason recorded when ``handler.flush()`` or a DLQ write failed for a batch.
FLUSH_FAILED = "flush_failed"
DLQ_UNAVAILABLE = "dlq_unavailable"


@dataclass(slots=True)
class RunStats:
    """What one ``run`` did, by outcome (the bench and the tests read these)."""

    handled: int = 0
    duplicate: int = 0
    expired: int = 0
    dead_lettered: int = 0
    retried: int = 0
    batches: int = 0

    @property
    def finished(self) -> int:
        """Messages done for good (committed or about to be): every outcome but a retry."""
        return self.handled + self.duplicate + self.expired + self.dead_lettered


@dataclass(slots=True)
class _Done:
    """One message of a batch that needs no further handling, and what it still waits for."""

    offset: int
    outcome: Outcome
    event_type: str
    message_id: str | None = None


class OffsetCommitter(Protocol):
    """A sink that commits the consumer's offsets in its own transaction (exactly once)."""

    def commit_offsets(
        self, offsets: Mapping[TopicPartition, int], group_metadata: GroupMetadata
    ) -> None:
        """Commit the batch's records with ``offsets`` (next offset per partition); raise
        (having aborted) when that failed."""

    def abort(self) -> None:
        """Abort what the batch sent (nothing of it becomes visible)."""


@dataclass(slots=True)
class _PartitionWork:
    """The batch of one partition: what got done, and where (if anywhere) it stopped."""

    done: list[_Done] = field(default_factory=list)
    stopped_at: int | None = None


class _CommitOnRevoke:
    """Commits what was handled before partitions go to another consumer.

    The loop sends a commit after every batch, before it polls again, and rebalances
    happen inside ``poll``; so what is left here is a commit not yet confirmed, or one
    that failed: ``on_revoked`` returns it and the transport commits it (kafka-python
    runs this on its IO thread, where it awaits ``commit_async``).
    """

    def __init__(self, runtime: ConsumerRuntime) -> None:
        self._runtime = runtime

    def on_revoked(self, partitions: frozenset[TopicPartition]) -> Mapping[TopicPartition, int]:
        return self._runtime._hand_over(partitions)

    def on_assigned(self, partitions: frozenset[TopicPartition]) -> None:
        self._runtime._note_assigned(partitions)
        log.info("partitions_assigned", partitions=sorted(f"{t}/{p}" for t, p in partitions))

    def on_lost(self, partitions: frozenset[TopicPartition]) -> None:
        # Thrown out of the group: a commit would be refused; forget and let others redo.
        self._runtime._hand_over(partitions)


class ConsumerRuntime:
    """One worker of consumer group ``group`` on ``topics``, feeding ``handler``."""

    def __init__(
        self,
        settings: Settings,
        group: str,
        topics: Sequence[str],
        handler: Handler,
        *,
        codec: Decoder,
        dedupe_store: DedupeStore,
        dlq: DeadLetterSink,
        verifier: Verifier | None = None,
        role: str = "consumer",
        retry: RetryPolicy | None = None,
        max_records: int = 500,
        poll_timeout_s: float = 1.0,
        clock: Callable[[], datetime] = utc_now,
        consumer_factory: Callable[[Settings, ConsumerOptions], Consumer] = open_consumer,
        consumer_options: ConsumerOptions | None = None,
        lag_every_s: float | None = None,
        on_expired: Callable[[Delivery], None] | None = None,
        offset_committer: OffsetCommitter | None = None,
        authority: AuthorityGate | None = None,
    ) -> None:
        self.settings = settings
        self.group = group
        self.topics = tuple(topics)
        self.handler = handler
        self.role = role
        self.stats = RunStats()
        self._reader = MessageReader(codec, verifier)
        self._store = dedupe_store
        self._dlq = dlq
        self._policy = retry or RetryPolicy()
        self._retries: RetryBook[TopicPartition] = RetryBook(self._policy)
        self._max_records = max_records
        self._poll_timeout_s = poll_timeout_s
        self._clock = clock
        self._consumer_factory = consumer_factory
        self._consumer_options = consumer_options or ConsumerOptions()
        #: Read the group's lag from the broker this often (``consumers.lag``); None: every
        #: DEFAULT_LAG_EVERY_S while the process serves /metrics when ``run`` starts; 0: never.
        self._lag_every_s = lag_every_s
        #: Called with each alert skipped as expired (a bridge audits the refusal).
        self._on_expired = on_expired
        #: Commits the offsets instead of the consumer (see the module docstring).
        self._committer = offset_committer
        #: Who may say what (design.md, Authority): every role passes one; None only for
        #: runtimes on test topics and benchmarks, which carry no exchange conversation.
        self._authority = authority
        #: The partitions this worker holds now (kept by the rebalance listener): a role's
        #: readiness probe says ready only while this is not empty.
        self.assignment: frozenset[TopicPartition] = frozenset()
        self._stop = threading.Event()
        self._offsets = CommitTracker(role)
        # Filled by the rebalance listener, which may run on the client's own thread.
        self._lock = threading.Lock()
        self._revoked: set[TopicPartition] = set()
        self._log = log.bind(group=group, role=role)
        self._debug = False
        #: The consumer of the batch in hand (``_reading_behind`` asks it for positions).
        self._batch_consumer: Consumer | None = None

    @property
    def retrying(self) -> bool:
        """Whether a partition waits to retry a message (an idle watch is not idle then)."""
        return len(self._retries) > 0

    # -- running ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to finish the batch in hand, commit, and close (thread-safe)."""
        self._stop.set()

    def run_forever(
        self, max_messages: int | None = None, idle_timeout: float | None = None
    ) -> RunStats:
        """Run until SIGTERM or SIGINT, then finish the batch, commit and close.

        For commands (``main()`` threads only): installs the signal handlers for the run
        and puts the previous ones back afterwards. The limits are those of ``run``.
        """

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            self._log.info("consumer_stopping", signal=signal.Signals(signum).name)
            self.stop()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            return self.run(max_messages, idle_timeout)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def run(self, max_messages: int | None = None, idle_timeout: float | None = None) -> RunStats:
        """Consume until stopped, until ``max_messages`` are done, or until nothing arrived
        (and nothing waits for a retry) for ``idle_timeout`` seconds, counted from the
        first assignment (``runtime.idle``)."""
        self.stats = RunStats()
        # Bound here, not only in __init__: the entry point may configure logging after
        # building the runtime, and structlog binds to the configuration of the moment.
        self._log = log.bind(group=self.group, role=self.role)
        # The canonical per-message line is at debug level; its arguments alone cost ~3 us
        # a message, so they are only computed when debug lines are wanted.
        self._debug = getattr(self._log, "is_enabled_for", lambda _level: True)(logging.DEBUG)
        consumer = self._consumer_factory(
            self.settings,
            replace(
                self._consumer_options, group_id=self.group, max_poll_records=self._max_records
            ),
        )
        lag_every_s = self._lag_every_s
        if lag_every_s is None:
            lag_every_s = DEFAULT_LAG_EVERY_S if metrics_serving() else 0.0
        lag = None
        if lag_every_s > 0:
            lag = LagMonitor(self.settings, self.group, self.topics, self.role, lag_every_s)
        try:
            consumer.subscribe(list(self.topics), _CommitOnRevoke(self))
            if lag is not None:
                lag.start()
            self._loop(consumer, max_messages, idle_timeout)
        finally:
            if lag is not None:
                lag.stop()
            self._offsets.commit_sync(consumer)
            consumer.close()
            self.assignment = frozenset()
        return self.stats

    def _loop(
        self, consumer: Consumer, max_messages: int | None, idle_timeout: float | None
    ) -> None:
        idle = IdleClock(idle_timeout)
        next_prune = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_prune:
                pruned = self._store.prune()
                if pruned:
                    self._log.info("dedupe_pruned", ids=pruned)
                next_prune = now + PRUNE_EVERY_S
            self._resume_due(consumer, now)
            polled = self._poll(consumer, now)
            self._forget_revoked()
            if polled:
                self._process(consumer, polled)
            elif self._offsets.pending():
                self._offsets.commit_async(consumer)  # a commit that failed before: again
            if max_messages is not None and self.stats.finished >= max_messages:
                return
            if idle.expired(
                reading=bool(self.assignment), progress=self.stats.finished, busy=self.retrying
            ):
                return

    def _poll(self, consumer: Consumer, now: float) -> dict[TopicPartition, list[Record]]:
        timeout = self._poll_timeout_s
        wait = self._retries.seconds_to_next(now)
        if wait is not None:
            timeout = min(timeout, wait)
        try:
            polled = consumer.poll(timeout, self._max_records)
        except BrokerError as exc:
            if not exc.retriable:
                raise
            self._log.warning("poll_failed", error=str(exc))
            self._stop.wait(self._policy.base_delay)
            return {}
        return polled

    # -- one batch -------------------------------------------------------------------------

    def _process(self, consumer: Consumer, polled: dict[TopicPartition, list[Record]]) -> None:
        self._batch_consumer = consumer
        started = time.perf_counter()
        now = self._clock()
        read: dict[TopicPartition, list[tuple[Record, Delivery | Poison | HxError]]] = {}
        ids: list[str] = []
        for tp, records in polled.items():
            entries: list[tuple[Record, Delivery | Poison | HxError]] = []
            for record in records:
                try:
                    result: Delivery | Poison | HxError = self._reader.read(record)
                except HxError as exc:  # retriable (the verifier's keys are out of reach)
                    result = exc
                if isinstance(result, Delivery):
                    ids.append(result.message_id)
                entries.append((record, result))
            read[tp] = entries
        seen = self._store.seen(ids) if ids else set()

        work = {tp: self._handle_partition(tp, entries, seen, now) for tp, entries in read.items()}
        self._settle(consumer, work)
        self.stats.batches += 1
        BATCH_SECONDS.labels(self.role).observe(time.perf_counter() - started)

    def _handle_partition(
        self,
        tp: TopicPartition,
        entries: list[tuple[Record, Delivery | Poison | HxError]],
        seen: set[str],
        now: datetime,
    ) -> _PartitionWork:
        work = _PartitionWork()
        for index, (record, result) in enumerate(entries):
            if isinstance(result, HxError):
                if self._retry_or_give_up(tp, record, result, None, work):
                    break
                continue
            if isinstance(result, Poison):
                self._dead_letter(tp, record, result, work)
                continue
            message = result
            if message.message_id in seen:
                work.done.append(_Done(record.offset, Outcome.DUPLICATE, message.event_type))
                if self._debug:
                    self._log.debug(
                        "message_duplicate",
                        message_id=message.message_id,
                        correlation_id=message.envelope.correlation_id,
                        topic=tp.topic,
                        partition=tp.partition,
                        offset=record.offset,
                        outcome="duplicate",
                    )
                continue
            if self._authority is not None:
                try:
                    self._check_authority(message, entries, index, seen)
                except AuthorityUnknown as exc:
                    if self._retry_or_give_up(tp, record, exc, message.event_type, work):
                        break
                    continue
                except AuthorityRefused as exc:
                    self._dead_letter(tp, record, Poison.of(exc, message.event_type), work)
                    continue
            if expired(message, now):
                self._log.info(
                    "alert_expired",
                    message_id=message.message_id,
                    correlation_id=message.envelope.correlation_id,
                    topic=tp.topic,
                    partition=tp.partition,
                    offset=record.offset,
                    event_type=message.event_type,
                    valid_until=str(message.record.get("valid_until")),
                )
                work.done.append(_Done(record.offset, Outcome.EXPIRED, message.event_type))
                if self._on_expired is not None:
                    try:
                        self._on_expired(message)
                    except Exception as exc:  # a hook never stops the stream
                        self._log.warning("on_expired_failed", error=public_text(exc))
                continue
            started = time.perf_counter() if self._debug else 0.0
            try:
                self.handler.handle(message)
            except Exception as exc:
                if isinstance(exc, HxError) and exc.retriable:
                    if self._retry_or_give_up(tp, record, exc, message.event_type, work):
                        break
                    continue
                self._dead_letter(tp, record, Poison.of(exc, message.event_type), work)
                continue
            seen.add(message.message_id)  # a second copy later in this batch is a duplicate
            work.done.append(
                _Done(record.offset, Outcome.HANDLED, message.event_type, message.message_id)
            )
            if not self._debug:
                continue
            self._log.debug(
                "message_handled",
                message_id=message.message_id,
                correlation_id=message.envelope.correlation_id,
                topic=tp.topic,
                partition=tp.partition,
                offset=record.offset,
                outcome="handled",
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )
        return work

    def _check_authority(
        self,
        message: Delivery,
        entries: list[tuple[Record, Delivery | Poison | HxError]],
        index: int,
        seen: set[str],
    ) -> None:
        """``AuthorityGate.check``; when ``message`` names something not known yet, first
        let the gate learn from the rest of this partition's batch (the fact may travel
        behind it in the same partition: ``AuthorityGate.learn_ahead``) and check again."""
        assert self._authority is not None
        try:
            self._authority.check(message)
        except AuthorityUnknown:
            later = (
                result
                for _, result in entries[index + 1 :]
                if isinstance(result, Delivery) and result.message_id not in seen
            )
            if not self._authority.learn_ahead(message, later):
                raise
            self._authority.check(message)

    def _retry_or_give_up(
        self,
        tp: TopicPartition,
        record: Record,
        error: HxError,
        event_type: str | None,
        work: _PartitionWork,
    ) -> bool:
        """A retriable failure: stop the partition here (True), or, past the policy's
        ``dead_letter_after``, dead-letter the message and go on (False)."""
        state = self._retries.get(tp)
        attempts = state.attempts if state is not None and state.offset == record.offset else 0
        if isinstance(error, AuthorityUnknown):
            # Never accepted blindly, never waited on for ever (a forged hit naming no
            # alert must not stall its inbox): past ``unknown_after``, a refusal — but
            # only once the other partitions were read to their ends, where the fact
            # would be if it existed (up to ``unknown_ceiling``): a receiver catching up
            # on a backlog reads a hit long before the alert it names on another topic.
            limit = self._policy.unknown_after
            if self._reading_behind(tp):
                limit = self._policy.unknown_ceiling
            if attempts + 1 >= limit:
                self._dead_letter(tp, record, Poison.of(error, event_type), work)
                return False
        elif self._policy.exhausted(attempts + 1):
            self._dead_letter(tp, record, Poison(error, RETRIES_EXHAUSTED, event_type), work)
            return False
        self._schedule_retry(tp, record.offset, error.reason, public_text(error))
        work.stopped_at = record.offset
        return True

    def _reading_behind(self, stopped: TopicPartition) -> bool:
        """Whether a partition this worker holds, other than ``stopped`` and those held
        back for a retry of their own, has records it has not read yet (its position is
        below the high watermark the last fetch saw). Partitions waiting on a retry do
        not count: two inbox partitions each stopped at an unknown hit would otherwise
        keep each other waiting to the ceiling."""
        consumer = self._batch_consumer
        if consumer is None:
            return False
        for tp in set(consumer.assignment()) - {stopped}:
            if self._retries.get(tp) is not None:
                continue
            try:
                highwater = consumer.highwater(tp)
                position = consumer.position(tp) if highwater is not None else None
            except HxError:
                continue  # nothing known of it: it does not hold the refusal back
            if highwater is not None and position is not None and position < highwater:
                return True
        return False

    def _dead_letter(
        self, tp: TopicPartition, record: Record, poison: Poison, work: _PartitionWork
    ) -> None:
        self._dlq.send(
            Origin(tp.topic, tp.partition, record.offset),
            key=record.key,
            value=record.value,
            headers=header_pairs(record),
            error=poison.error,
            reason=poison.reason,
        )
        work.done.append(
            _Done(record.offset, Outcome.DEAD_LETTERED, poison.event_type or "unknown")
        )
        if isinstance(poison.error, AuthorityRefused):
            event_type = poison.event_type if poison.event_type in EVENT_TYPES else "unknown"
            AUTHORITY_REJECTIONS.labels(self.role, event_type, poison.error.rule).inc()
        self._log.warning(
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

    def _schedule_retry(self, tp: TopicPartition, offset: int, reason: str, error: str) -> None:
        state = self._retries.fail(tp, offset, reason, time.monotonic())
        self.stats.retried += 1
        RETRIED.labels(self.role, kind_of(tp.topic), reason).inc()
        self._log.warning(
            "partition_retry",
            topic=tp.topic,
            partition=tp.partition,
            offset=offset,
            attempt=state.attempts,
            reason=reason,
            backoff_s=round(state.resume_at - time.monotonic(), 3),
            error=error,
        )

    # -- making it count -------------------------------------------------------------------

    def _settle(self, consumer: Consumer, work: dict[TopicPartition, _PartitionWork]) -> None:
        """Flush, wait for the DLQ, mark, commit; rewind whatever did not become durable."""
        handled = [d.message_id for w in work.values() for d in w.done if d.message_id]
        flushed = True
        if handled:
            try:
                self.handler.flush()
            except Exception as exc:
                flushed = False
                self._log.warning("flush_failed", messages=len(handled), error=public_text(exc))
        if self._authority is not None:
            self._keep_facts(flushed)
        not_acked = self._dlq.flush()

        rewind: dict[TopicPartition, int] = {}
        positions: dict[TopicPartition, int] = {}
        counts: Counter[tuple[str, str, Outcome]] = Counter()
        for tp, partition_work in work.items():
            stop = partition_work.stopped_at
            for done in partition_work.done:
                if done.outcome is Outcome.HANDLED and not flushed:
                    stop = done.offset
                    self._schedule_retry(tp, stop, FLUSH_FAILED, "handler.flush failed")
                    break
                origin = Origin(tp.topic, tp.partition, done.offset)
                if done.outcome is Outcome.DEAD_LETTERED and origin in not_acked:
                    stop = done.offset
                    self._schedule_retry(tp, stop, DLQ_UNAVAILABLE, "DLQ write not acknowledged")
                    break
                positions[tp] = done.offset + 1
                counts[(kind_of(tp.topic), done.event_type, done.outcome)] += 1
            if stop is not None:
                rewind[tp] = stop

        if self._committer is not None and not self._commit_in_transaction(
            consumer, work, positions, flushed
        ):
            return
        if handled and flushed:
            self._store.mark(handled)
        if self._committer is None:
            self._offsets.advance(positions)
            self._offsets.commit_async(consumer)
        self._count(counts)
        for tp, position in positions.items():
            self._retries.succeeded(tp, position - 1)
        self._pause_at(consumer, rewind)
        STALLED_PARTITIONS.labels(self.role).set(self._retries.stalled(time.monotonic()))

    def _keep_facts(self, flushed: bool) -> None:
        """Commit the facts the batch's accepted messages taught, or drop them with the
        batch (it comes again and teaches them again). A fact commit that fails is
        logged: the facts are true, the batch is durable, and a later message of the
        same conversation teaches them again or is retried."""
        assert self._authority is not None
        try:
            if flushed:
                self._authority.commit()
            else:
                self._authority.rollback()
        except Exception as exc:
            self._log.warning("authority_facts_not_kept", error=str(exc))

    def _commit_in_transaction(
        self,
        consumer: Consumer,
        work: dict[TopicPartition, _PartitionWork],
        positions: dict[TopicPartition, int],
        flushed: bool,
    ) -> bool:
        """The offset committer commits the batch with ``positions``. False (after an abort,
        with every partition of the batch sought back to the batch's start and paused for
        a retry) when the flush or the commit failed."""
        assert self._committer is not None
        try:
            if not flushed:
                raise BrokerError("handler.flush failed: the batch's transaction is aborted")
            if positions:
                self._committer.commit_offsets(positions, consumer.group_metadata())
            else:
                self._committer.abort()  # nothing done for good: nothing may become visible
            return True
        except HxError as exc:
            self._committer.abort()
            start: dict[TopicPartition, int] = {}
            for tp, partition_work in work.items():
                offsets = [d.offset for d in partition_work.done]
                if partition_work.stopped_at is not None:
                    offsets.append(partition_work.stopped_at)
                if offsets:
                    start[tp] = min(offsets)
                    self._schedule_retry(tp, start[tp], FLUSH_FAILED, public_text(exc))
            self._pause_at(consumer, start)
            return False

    def _count(self, counts: Counter[tuple[str, str, Outcome]]) -> None:
        """Add a batch's outcomes to the stats and the metrics (one label look-up per kind)."""
        for (topic_kind, event_type, outcome), n in counts.items():
            setattr(self.stats, outcome.value, getattr(self.stats, outcome.value) + n)
            CONSUMED.labels(self.role, topic_kind, event_type, outcome.value).inc(n)

    # -- pausing, resuming, rebalancing --------------------------------------------------

    def _pause_at(self, consumer: Consumer, rewind: dict[TopicPartition, int]) -> None:
        owned = consumer.assignment()
        for tp, offset in rewind.items():
            if tp in owned:
                consumer.seek(tp, offset)
                consumer.pause([tp])

    def _resume_due(self, consumer: Consumer, now: float) -> None:
        due = self._retries.take_due(now)
        if due:
            owned = consumer.assignment()
            resumed = [tp for tp in due if tp in owned]
            consumer.resume(resumed)

    def _hand_over(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """Called from the rebalance listener: what to commit for ``partitions`` before they
        go, and a note to forget their retry state."""
        gone = set(partitions)
        with self._lock:
            self._revoked |= gone
            self.assignment = self.assignment - gone
        return self._offsets.hand_over(gone)

    def _note_assigned(self, partitions: Iterable[TopicPartition]) -> None:
        """Called from the rebalance listener: these partitions are now ours."""
        with self._lock:
            self.assignment = self.assignment | set(partitions)

    def _forget_revoked(self) -> None:
        with self._lock:
            revoked, self._revoked = self._revoked, set()
        if revoked:
            self._retries.forget(revoked)
