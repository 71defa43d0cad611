"""The register role (``hxbus alert-register run``): the consumer that keeps the register.

``RegisterWriter`` is its handler: it folds each alert message and, when the runtime
flushes a batch, writes the states the batch changed and then the batch's read marks
(``consumers.alert_register.register``: how far each alert partition is folded, so that a
load need not replay what changed nothing); the runtime commits after that.
``run_register`` loads the register (``load_register``), writes what the load's tail
changed, then follows the alert topics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

import structlog

from consumers.alert_register.facts import RegisterFacts
from consumers.alert_register.register import (
    ALERT_TOPICS,
    load_register,
    publicly_foldable,
    read_mark,
)
from consumers.alert_register.state import AlertRegister
from consumers.authority_gate import AuthorityGate
from consumers.authority_store import NullFacts
from consumers.batch_work import RunStats
from consumers.dedupe import DedupeStore, store_path
from consumers.delivery import Delivery
from consumers.dlq import DeadLetterQueue
from consumers.loop import ConsumerRuntime
from consumers.reading import utc_now
from consumers.runtime_options import Checks, Settlement, Subscription
from runtime import Settings, Verifier, open_producer
from runtime.closing import close_all
from runtime.kafka import Producer, TopicPartition
from runtime.metrics import LIVE_ALERTS
from schemas import Agreement, Codec

log = structlog.get_logger("hxbus.alert_register")


class RegisterWriter:
    """The register consumer's handler: fold each alert message, write what changed.

    States are written at ``flush`` (once per batch, latest state per alert) and kept
    "dirty" until the broker acknowledged them: a failed write is retried with the
    redelivered batch, whose messages fold to no change but whose states still wait.
    Then the read marks (per partition the last offset handled, or before the runtime's
    position done for good, whichever is later), only once the states are acknowledged:
    a mark never runs ahead of a state it vouches for.
    """

    def __init__(
        self,
        register: AlertRegister,
        producer: Producer,
        topic: str,
        *,
        dirty: set[str] | None = None,
        read: Mapping[TopicPartition, int] | None = None,
        settled: Callable[[], Mapping[TopicPartition, int]] | None = None,
        flush_timeout_s: float = 60.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.register = register
        self._producer = producer
        self._topic = topic
        self._dirty: set[str] = set(dirty or ())
        #: The last offset handled per partition, and the marks already acknowledged.
        self._read: dict[TopicPartition, int] = dict(read or {})
        self._marked: dict[TopicPartition, int] = {}
        #: The runtime's positions done for good (``CommitTracker.advanced``): they also pass
        #: what never reaches ``handle`` (duplicates, dead letters) once flushed.
        self._settled = settled
        self._flush_timeout_s = flush_timeout_s
        self._clock = clock

    def handle(self, message: Delivery) -> None:
        # Every message handled is read through, folded or not: the runtime hands a
        # partition's messages in offset order and stops it at the first it must retry.
        # (max: after the start-up load the runtime may hand again what the load read.)
        tp = TopicPartition(message.topic, message.partition)
        self._read[tp] = max(message.offset, self._read.get(tp, -1))
        if not publicly_foldable(message.event_type, message.record):
            return
        position = f"{message.topic}/{message.partition}@{message.offset}"
        changed = self.register.apply(message.event_type, message.record, position)
        if changed is not None:
            self._dirty.add(changed.alert_id)

    #: An alert past valid_until is skipped by the runtime, but its state still counts.
    on_expired = handle

    def flush(self) -> None:
        if self._dirty:
            self._write_states()
        read = dict(self._read)
        for tp, position in (self._settled() if self._settled else {}).items():
            read[tp] = max(read.get(tp, -1), position - 1)  # a position is the next offset
        marks = {tp: at for tp, at in read.items() if at >= 0 and self._marked.get(tp) != at}
        if marks:
            self._write_marks(marks)

    def _write_states(self) -> None:
        states = (self.register.get(alert_id) for alert_id in sorted(self._dirty))
        written = self._write_acknowledged(
            (state.alert_id.encode(), state.to_json()) for state in states if state is not None
        )
        log.debug("register_written", states=written)
        self._dirty.clear()
        self._count_live()

    def _write_marks(self, marks: Mapping[TopicPartition, int]) -> None:
        self._write_acknowledged(read_mark(tp, offset) for tp, offset in sorted(marks.items()))
        self._marked.update(marks)

    def _write_acknowledged(self, records: Iterable[tuple[bytes, bytes]]) -> int:
        """Send (key, value) records to the register topic and return once the broker
        acknowledged every one (raising the first refusal); how many were sent."""
        futures = [self._producer.send(self._topic, key=key, value=value) for key, value in records]
        self._producer.flush(self._flush_timeout_s)
        for future in futures:
            future.get(0)
        return len(futures)

    def _count_live(self) -> None:
        live = self.register.states(live=True)
        for kind in ("PERSON", "VEHICLE"):
            LIVE_ALERTS.labels(kind).set(sum(1 for s in live if s.kind == kind))


def run_register(
    settings: Settings,
    agreement: Agreement,
    *,
    verifier: Verifier | None = None,
    idle_timeout: float | None = None,
    max_messages: int | None = None,
    on_ready: Callable[[], None] | None = None,
) -> RunStats:
    """Load the register, write what the tail changed, then follow the alert topics.

    ``on_ready`` is called once the register is loaded and written (readiness probe).
    """
    group, topic = settings.alert_register_group, settings.alert_register_topic
    register, loaded = load_register(settings, verifier=verifier)
    producer = open_producer(settings)
    # What the load read of the alert topics is folded: its marks go with its states.
    tail_read = {tp: end - 1 for tp, end in loaded.ends.items() if tp.topic != topic and end > 0}
    writer = RegisterWriter(
        register,
        producer,
        topic,
        dirty=loaded.changed,
        read=tail_read,
        settled=lambda: runtime.offsets.advanced(),  # the runtime below, asked at each flush
    )
    dedupe = DedupeStore(store_path(settings.state_dir, group))
    dlq = DeadLetterQueue(
        settings,
        group,
        replication=agreement.exchange.replication,
        min_insync_replicas=agreement.exchange.min_insync_replicas,
    )
    # Who may say what: judged against the register itself, which folds each accepted
    # alert and status change (so the facts need no store of their own); a status change
    # of an alert it never read cannot become known by waiting.
    authority = AuthorityGate(NullFacts(), RegisterFacts(register), wait_for_unknown=False)
    runtime = ConsumerRuntime(
        settings,
        Subscription(group, ALERT_TOPICS, role="register"),
        writer,
        Checks(Codec(), dedupe, verifier=verifier, authority=authority),
        Settlement(dlq, on_expired=writer.on_expired),
    )
    try:
        writer.flush()  # what the tail changed is written before anything new
        if on_ready is not None:
            on_ready()
        stats = runtime.run_forever(max_messages=max_messages, idle_timeout=idle_timeout)
        writer.flush()  # the marks of the last batch, whose positions settled after its flush
        return stats
    finally:
        parts = {"producer": producer.close, "dlq": dlq.close, "dedupe": dedupe.close}
        close_all(parts, log, "register_close_failed")
