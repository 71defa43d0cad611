"""The consumer loop every receiver stands on: poll, read, dedupe, handle, flush, commit.

One ``ConsumerRuntime`` is one worker: it owns one ``runtime.kafka.Consumer``, created on
the thread that runs it and never shared (a Kafka consumer is not thread-safe). Run
more workers of a group as more runtimes (processes, or threads each with its own runtime,
handler and dedupe store connection).

One polled batch goes through these steps, in this order, and that order is the guarantee:

1. read every record (``MessageReader``): poison becomes a DLQ entry, not an exception;
2. ask the dedupe store which message ids were handled before (one query per batch);
3. per partition, in offset order (the alert topics' partitions first: what they teach
   is what the inboxes' hits name, ``AuthorityGate.ordered``): skip duplicates; judge
   the rest by the authority rules
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

A sink that owns the commit (``Settlement.offset_committer``, the transactional Kafka
sink) replaces step 6: after step 4 the runtime hands it the batch's next offsets and
``consumer.group_metadata()``, and the sink commits them in its transaction together with
the batch's records (``send_offsets_to_transaction``); the consumer itself then never
commits. If the flush or that commit fails, the transaction is aborted and every partition
of the batch is sought back to where the batch began, so the batch comes again whole
(step 5 happens only after the commit). The two ways are strategies (``consumers.commits``),
as is what an expired alert does (``consumers.expiry``): chosen once, when the runtime is
built from its grouped options (``consumers.runtime_options``). A failed message is
retried or dead-lettered by ``consumers.failures``.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime
from types import FrameType

import structlog

from consumers.assignment import Holdings
from consumers.backlog import Backlog
from consumers.batch_work import AWAIT_FLUSH, BatchWork, Done, PartitionWork, RunStats, awaits_flush
from consumers.commits import commits_for
from consumers.delivery import Delivery, Handler, Outcome
from consumers.dlq import Origin
from consumers.expiry import expiry_for
from consumers.failures import FLUSH_FAILED, Failures
from consumers.lag import DEFAULT_LAG_EVERY_S, LagMonitor
from consumers.offsets import CommitTracker
from consumers.reading import MessageReader, Poison
from consumers.runtime_options import Checks, Polling, Settlement, Subscription
from consumers.start_up_heap import freeze_start_up_heap
from runtime import Settings
from runtime.idle import IdleClock
from runtime.kafka import Consumer, Record, TopicPartition
from runtime.metrics import BATCH_SECONDS, STALLED_PARTITIONS
from runtime.metrics import topic_kind as kind_of
from runtime.metrics_server import serving as metrics_serving
from schemas.errors import AuthorityRefused, AuthorityUnknown, BrokerError, HxError, public_text

log = structlog.get_logger("hxbus.consumer")

#: Prune the dedupe store this often (seconds) while running.
PRUNE_EVERY_S = 3600.0
#: Reason recorded when a DLQ write failed for a batch (``FLUSH_FAILED``: the flush).
DLQ_UNAVAILABLE = "dlq_unavailable"

#: One read record: the checked message, poison, or a retriable error of the verifier.
Entry = tuple[Record, Delivery | Poison | HxError]


class ConsumerRuntime:
    """One worker of ``subscription``'s group, feeding ``handler`` (see the module doc)."""

    def __init__(
        self,
        settings: Settings,
        subscription: Subscription,
        handler: Handler,
        checks: Checks,
        settlement: Settlement,
        polling: Polling | None = None,
    ) -> None:
        self.settings = settings
        self.group = subscription.group
        self.topics = tuple(subscription.topics)
        self.handler = handler
        self.role = subscription.role
        self.stats = RunStats()
        self.polling = polling or Polling()
        self._reader = MessageReader(checks.codec, checks.verifier)
        self._store = checks.dedupe_store
        self._authority = checks.authority
        self._log = log.bind(group=self.group, role=self.role)
        self._failures = Failures(
            self.role, settlement.dlq, self.polling.retry, self.stats, self._log
        )
        self._dlq = self._failures  # its flush: the DLQ's, then the batch's dead-letter lines
        self._retries = self._failures.retries
        self.offsets = CommitTracker(self.role)  # public: the register role's read marks
        # The strategies, chosen once (consumers.commits, consumers.expiry).
        self._commits = commits_for(settlement.offset_committer, self.offsets)
        self._expiry = expiry_for(settlement.on_expired)
        self._holdings = Holdings(self.offsets, self._retries)
        self.backlog = Backlog()  # read by other threads: the tracker's notices wait on it
        self._stop = threading.Event()
        self._debug = False

    @property
    def assignment(self) -> frozenset[TopicPartition]:
        """The partitions this worker holds now (kept by the rebalance listener): a role's
        readiness probe says ready only while this is not empty."""
        return self._holdings.partitions

    def reading_behind(self) -> bool:
        """Whether a partition this worker holds (and does not hold back for a retry) has
        records it has not read yet. For the loop's own thread (``RegisterLookup``)."""
        return self._failures.reading_behind(None)

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
        freeze_start_up_heap()
        try:
            return self.run(max_messages, idle_timeout)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def run(self, max_messages: int | None = None, idle_timeout: float | None = None) -> RunStats:
        """Consume until stopped, until ``max_messages`` are done, or until nothing arrived
        (and nothing waits for a retry) for ``idle_timeout`` seconds, counted from the
        first assignment (``runtime.idle``)."""
        self.stats = self._failures.stats = RunStats()
        # Bound here, not only in __init__: the entry point may configure logging after
        # building the runtime, and structlog binds to the configuration of the moment.
        self._log = self._failures.log = log.bind(group=self.group, role=self.role)
        # The canonical per-message line is at debug level; its arguments alone cost ~3 us
        # a message, so they are only computed when debug lines are wanted.
        self._debug = getattr(self._log, "is_enabled_for", lambda _level: True)(logging.DEBUG)
        polling = self.polling
        options = replace(
            polling.consumer_options, group_id=self.group, max_poll_records=polling.max_records
        )
        consumer = polling.consumer_factory(self.settings, options)
        lag_every_s = polling.lag_every_s
        if lag_every_s is None:
            lag_every_s = DEFAULT_LAG_EVERY_S if metrics_serving() else 0.0
        lag = None
        if lag_every_s > 0:
            lag = LagMonitor(self.settings, self.group, self.topics, self.role, lag_every_s)
        try:
            consumer.subscribe(list(self.topics), self._holdings.listener())
            if lag is not None:
                lag.start()
            self._loop(consumer, max_messages, idle_timeout)
        finally:
            if lag is not None:
                lag.stop()
            self.offsets.commit_sync(consumer)
            consumer.close()
            self._holdings.partitions = frozenset()
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
            self._holdings.resume_due(consumer, now)
            polled = self._poll(consumer, now)
            self._holdings.forget_revoked()
            if polled:
                self._process(consumer, polled)
            elif self.offsets.pending():
                self.offsets.commit_async(consumer)  # a commit that failed before: again
            self.backlog.check(consumer, self.assignment)
            if max_messages is not None and self.stats.finished >= max_messages:
                return
            if idle.expired(
                reading=bool(self.assignment), progress=self.stats.finished, busy=self.retrying
            ):
                return

    def _poll(self, consumer: Consumer, now: float) -> dict[TopicPartition, list[Record]]:
        timeout = self.polling.poll_timeout_s
        wait = self._retries.seconds_to_next(now)
        if wait is not None:
            timeout = min(timeout, wait)
        try:
            polled = consumer.poll(timeout, self.polling.max_records)
        except BrokerError as exc:
            if not exc.retriable:
                raise
            self._log.warning("poll_failed", error=str(exc))
            self._stop.wait(self.polling.retry.base_delay)
            return {}
        return polled

    # -- one batch -------------------------------------------------------------------------

    def _process(self, consumer: Consumer, polled: dict[TopicPartition, list[Record]]) -> None:
        self._failures.consumer = consumer
        started = time.perf_counter()
        now = self.polling.clock()  # one clock read judges the whole batch's expiry
        read: dict[TopicPartition, list[Entry]] = {}
        ids: list[str] = []
        reader = self._reader.read
        for tp, records in polled.items():
            entries: list[Entry] = []
            for record in records:
                try:
                    result: Delivery | Poison | HxError = reader(record)
                except HxError as exc:  # retriable (the verifier's keys are out of reach)
                    result = exc
                if isinstance(result, Delivery):
                    ids.append(result.message_id)
                entries.append((record, result))
            read[tp] = entries
        seen = self._store.seen(ids) if ids else set()

        order = list(read) if self._authority is None else self._authority.ordered(read)
        work = {tp: self._handle_partition(tp, read[tp], seen, now) for tp in order}
        self._settle(consumer, work)
        self.stats.batches += 1
        BATCH_SECONDS.labels(self.role).observe(time.perf_counter() - started)

    def _handle_partition(
        self, tp: TopicPartition, entries: list[Entry], seen: set[str], now: datetime
    ) -> PartitionWork:
        work = PartitionWork()
        failures = self._failures
        for index, (record, result) in enumerate(entries):
            if isinstance(result, HxError):
                if failures.retry_or_give_up(tp, record, result, None, work):
                    break
                continue
            if isinstance(result, Poison):
                failures.dead_letter(tp, record, result, work)
                continue
            message = result
            if message.message_id in seen:
                work.done.append(Done(record.offset, Outcome.DUPLICATE, message.event_type))
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
                later = (
                    result
                    for _, result in entries[index + 1 :]
                    if isinstance(result, Delivery) and result.message_id not in seen
                )
                try:
                    self._authority.check_in_batch(message, later)
                except AuthorityUnknown as exc:
                    if failures.retry_or_give_up(tp, record, exc, message.event_type, work):
                        break
                    continue
                except AuthorityRefused as exc:
                    failures.dead_letter(tp, record, Poison.of(exc, message.event_type), work)
                    continue
            if self._expiry.skips(message, now, self._log):
                work.done.append(Done(record.offset, Outcome.EXPIRED, message.event_type))
                continue
            started = time.perf_counter() if self._debug else 0.0
            try:
                self.handler.handle(message)
            except Exception as exc:
                if isinstance(exc, HxError) and exc.retriable:
                    if failures.retry_or_give_up(tp, record, exc, message.event_type, work):
                        break
                    continue
                failures.dead_letter(tp, record, Poison.of(exc, message.event_type), work)
                continue
            seen.add(message.message_id)  # a second copy later in this batch is a duplicate
            work.done.append(
                Done(record.offset, Outcome.HANDLED, message.event_type, message.message_id)
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

    # -- making it count -------------------------------------------------------------------

    def _settle(self, consumer: Consumer, work: BatchWork) -> None:
        """Flush, wait for the DLQ, commit (strategy), mark, commit (strategy); rewind
        whatever did not become durable."""
        handled = [d.message_id for w in work.values() for d in w.done if d.message_id]
        flushed = True
        if awaits_flush(work):
            try:
                self.handler.flush()
            except Exception as exc:
                flushed = False
                self._log.warning("flush_failed", messages=len(handled), error=public_text(exc))
        if self._authority is not None:
            self._authority.keep(flushed, self._log)
        not_acked = self._dlq.flush()

        rewind: dict[TopicPartition, int] = {}
        positions: dict[TopicPartition, int] = {}
        counts: Counter[tuple[str, str, Outcome]] = Counter()
        schedule_retry = self._failures.schedule_retry
        for tp, partition_work in work.items():
            stop = partition_work.stopped_at
            for done in partition_work.done:
                if done.outcome in AWAIT_FLUSH and not flushed:
                    stop = done.offset
                    schedule_retry(tp, stop, FLUSH_FAILED, "handler.flush failed")
                    break
                origin = Origin(tp.topic, tp.partition, done.offset)
                if done.outcome is Outcome.DEAD_LETTERED and origin in not_acked:
                    stop = done.offset
                    schedule_retry(tp, stop, DLQ_UNAVAILABLE, "DLQ write not acknowledged")
                    break
                positions[tp] = done.offset + 1
                counts[(kind_of(tp.topic), done.event_type, done.outcome)] += 1
            if stop is not None:
                rewind[tp] = stop

        failed = self._commits.before_mark(consumer, positions, flushed)
        if failed is not None:
            # The batch's transaction was aborted: every partition back to where the batch
            # began, paused for a retry (it comes again whole).
            self._holdings.pause_at(consumer, self._failures.rewind_batch(work, failed))
            return
        if handled and flushed:
            self._store.mark(handled)
        self._commits.after_mark(consumer, positions)
        self.stats.add(counts, self.role)
        for tp, position in positions.items():
            self._retries.succeeded(tp, position - 1)
        self._holdings.pause_at(consumer, rewind)
        STALLED_PARTITIONS.labels(self.role).set(self._retries.stalled(time.monotonic()))
