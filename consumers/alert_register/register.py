"""The alert register: every alert's current state, kept on a compacted topic.

Why a compacted topic (``hx.alerts.register``, keyed by alert_id) and not only a rebuild
from the alert topics:

- one record per alert instead of every revision and status change: a partner joining
  later, a bridge rebuilding its local system, ``hxbus alerts`` and every ``hxbus
  publish`` (the duplicate check) read the live set in one pass, however long the
  exchange has been running;
- the state outlives the alert topics' retention (one year): an alert valid for longer
  keeps its state after its first revision has been deleted;
- it holds no personal data in clear (``schemas.subjects``), and each state points at its
  latest revision on the alert topic (``position``), so a re-delivery reads those exact
  signed bytes and partners verify them as usual;
- every agency reads it, so it holds broadcast alerts only: a need-to-know alert never
  travels on the alert topics (``producers.routing``), and one that does anyway (a
  partner's mistake, a forgery) is not folded (``publicly_foldable``): no alert id,
  category, revision or subject key of a restricted alert is ever written here.

The tail is read as every receiver reads: the signature verified (when a verifier is
given) and the authority rules applied against the register as folded so far, so that a
forged revision or status change in the tail changes no state (``refused`` counts them).

Its weak point is that it lags: the register consumer writes a state after the alert was
published. ``load_register`` therefore reads the register topic to its end, then the alert
topics from just after the newest ``position`` the snapshot holds on each partition to
their end. The register handles a partition in offset order and writes a batch's states
before it goes on, so every alert message before the newest position in the snapshot is
folded into it; everything after is folded from the alert topics themselves. The fold is
idempotent (``consumers.alert_register.state``), so the overlap does no harm. A register that
never ran just means a rebuild from the start of the alert topics: slower, same answer.

A state's position moves only when a message changes it: a partition whose newest
messages changed nothing (an alert published again, a need-to-know alert never folded,
a forgery) would be replayed by every load however current the role is. So the role also
writes a *read mark* per alert-topic partition (key ``@read:<topic>/<partition>``, value
``{"read_through": "<topic>/<partition>@<offset>"}``, no alert data) once the states of
everything up to that offset are acknowledged, and a load starts each partition's tail
after the later of its newest position and its mark.

The snapshot, not the register group's committed offsets, says where to start: so an
agency's own login (which may read the alert topics and the register, but has no business
with the operator's consumer group) can load the register for the duplicate check of
``hxbus publish``.

``RegisterWriter`` is the handler of the register consumer (``run_register``); it writes
the states a batch changed when the runtime flushes, and the runtime commits after that.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from consumers.alert_register.facts import RegisterFacts
from consumers.alert_register.state import AlertRegister, AlertState
from consumers.authority_gate import AuthorityGate, said_of
from consumers.authority_store import NullFacts
from consumers.batch_work import RunStats
from consumers.dedupe import DedupeStore, store_path
from consumers.delivery import Delivery
from consumers.dlq import DeadLetterQueue
from consumers.loop import ConsumerRuntime
from consumers.reading import MessageReader, Poison, utc_now
from consumers.runtime_options import Checks, Settlement, Subscription
from runtime import Settings, Verifier, open_consumer, open_producer
from runtime.kafka import Consumer, ConsumerOptions, Producer, TopicPartition
from runtime.metrics import LIVE_ALERTS
from runtime.topic_end import beginnings, read_to_end
from schemas import BROADCAST_TOPICS, Agreement, Codec
from schemas.audiences import ALERT_KIND_OF, is_restricted
from schemas.authority import judge
from schemas.errors import AuthorityRefused

log = structlog.get_logger("hxbus.alert_register")

#: The events the register folds.
REGISTER_TYPES = frozenset({"PersonAlert", "VehicleAlert", "AlertStatusChange"})
#: The topics it reads.
ALERT_TOPICS: tuple[str, ...] = tuple(BROADCAST_TOPICS.values())


def publicly_foldable(event_type: str, record: Mapping[str, Any]) -> bool:
    """Whether a message may change what every agency reads: not a need-to-know alert."""
    if event_type not in REGISTER_TYPES:
        return False
    return event_type not in ALERT_KIND_OF or not is_restricted(record.get("handling"))


@dataclass(slots=True)
class LoadStats:
    """What ``load_register`` read: snapshot entries, alert-topic messages, and what failed."""

    snapshot: int = 0
    tail: int = 0
    unreadable: int = 0
    #: Tail messages the authority rules refused (design.md, Authority): not folded.
    refused: int = 0
    #: Alerts whose state the tail changed beyond the snapshot: the register writes them.
    changed: set[str] = field(default_factory=set)
    #: Where the load stopped reading, per partition of the register and the alert topics:
    #: a later load given this one (``since``) reads only what came after.
    ends: dict[TopicPartition, int] = field(default_factory=dict)


#: The load's reader fetches less at a time than the runtime's default (4 MiB / 512 KiB):
#: a load runs beside the receiver's own consumer, on a thread of the same process, and
#: its fetches were most of what it held at once (issue 17, measured on a 12,197-record
#: tail: peak RSS of a load -12 MB on kafka-python, -6 to -10 MB on librdkafka, no slower).
#: librdkafka's queue stays at the default: 1 MiB made the load three times slower.
LOAD_CONSUMER = ConsumerOptions(fetch_max_bytes=1024 * 1024, max_partition_fetch_bytes=256 * 1024)

#: Alert-topic messages past the snapshot above which a load warns (the register role is
#: probably not running: the snapshot is that far behind).
TAIL_WARNING = 10_000

#: The key prefix of a read mark on the register topic (alert ids are UUIDs: no clash).
READ_MARK_PREFIX = b"@read:"


def load_register(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    codec: Codec | None = None,
    verifier: Verifier | None = None,
    since: tuple[AlertRegister, LoadStats] | None = None,
) -> tuple[AlertRegister, LoadStats]:
    """The register as the broker holds it now: snapshot plus the tail not yet in it.

    ``since``: an earlier load of this process. The new register is a copy of it (the
    earlier one is left as it is: another thread may be asking it) folded on with only
    what the register and alert topics gained since that load's ``ends``: the same
    register as a whole load, since the fold is a join and each new tail message is
    verified and judged against the register folded so far, as a whole load does, but
    without replaying the alert topics' whole history again (issue 17: seconds and
    tens of MB each time without ``hxbus alert-register run``). A partition whose end
    is now below where the earlier load stopped (a topic deleted and created again)
    makes it a whole load.
    """
    stats = LoadStats()
    topic, group = settings.alert_register_topic, settings.alert_register_group
    codec = codec or Codec()
    reader = MessageReader(codec, verifier)
    consumer = open_consumer(settings, LOAD_CONSUMER)
    try:
        snapshot_from = _beginnings(consumer, [topic])
        tail_from = _beginnings(consumer, ALERT_TOPICS)
        read_before = since[1].ends if since is not None else {}
        if read_before and _shrunk(consumer, read_before, {**snapshot_from, **tail_from}):
            read_before = {}
        register = since[0].copy() if read_before and since else AlertRegister(clock)
        known = RegisterFacts(register)
        for starts in (snapshot_from, tail_from):
            for tp, offset in read_before.items():
                if tp in starts:
                    starts[tp] = max(starts[tp], offset)
        stats.ends.update(_ends(consumer, snapshot_from))
        for record in read_to_end(consumer, snapshot_from, ends=stats.ends):
            if not record.value:  # a tombstone: the alert's state was removed
                continue
            if record.key and record.key.startswith(READ_MARK_PREFIX):
                _start_after(tail_from, _read_through(record.value))
                continue
            try:
                state = AlertState.from_json(record.value)
            except (ValueError, TypeError, KeyError) as exc:
                stats.unreadable += 1
                log.warning(
                    "register_entry_unreadable", offset=record.offset, error=type(exc).__name__
                )
                continue
            register.merge(state)
            stats.snapshot += 1
            _start_after(tail_from, state.position)
        tail_ends = _ends(consumer, tail_from)
        stats.ends.update(tail_ends)
        for record in read_to_end(consumer, tail_from, ends=tail_ends):
            stats.tail += 1
            read = reader.read(record)
            if isinstance(read, Poison):
                stats.unreadable += 1  # poison is the DLQ's business, not the register's
                continue
            if not publicly_foldable(read.event_type, read.record):
                continue
            try:
                judge(said_of(read), known)
            except AuthorityRefused:
                stats.refused += 1  # forged, or of an alert not known: never folded
                continue
            position = f"{record.topic}/{record.partition}@{record.offset}"
            changed = register.apply(read.event_type, read.record, position)
            if changed is not None:
                stats.changed.add(changed.alert_id)
    finally:
        consumer.close()
    log.info(
        "register_loaded",
        topic=topic,
        alerts=len(register),
        snapshot=stats.snapshot,
        tail=stats.tail,
        unreadable=stats.unreadable,
        refused=stats.refused,
        since_earlier=bool(read_before),
    )
    if stats.tail > TAIL_WARNING:
        # The snapshot is kept by the register role; without it every load (each
        # ``hxbus publish`` with the duplicate check) replays the alert topics' history.
        log.warning(
            "register_snapshot_behind",
            tail=stats.tail,
            group=group,
            hint="is `hxbus alert-register run` running? it keeps the snapshot current",
        )
    return register, stats


class RegisterLoader:
    """``load_register`` for a receiver that loads again and again (``RegisterLookup``):
    the first call reads everything, each later one only what came since the last."""

    def __init__(self, settings: Settings, *, verifier: Verifier | None = None) -> None:
        self._settings = settings
        self._verifier = verifier
        self._last: tuple[AlertRegister, LoadStats] | None = None

    def __call__(self) -> AlertRegister:
        register, stats = load_register(self._settings, verifier=self._verifier, since=self._last)
        stats.changed.clear()  # what the register role writes back; here every alert's id
        self._last = (register, stats)
        return register


def _ends(consumer: Consumer, starts: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
    """The end offsets of now of the partitions of ``starts`` (none: none)."""
    return dict(consumer.end_offsets(list(starts))) if starts else {}


def _shrunk(
    consumer: Consumer,
    read_before: Mapping[TopicPartition, int],
    present: Mapping[TopicPartition, int],
) -> bool:
    """Whether a partition read before is gone, or ends below where that read stopped."""
    if any(tp not in present for tp in read_before):
        return True
    ends = _ends(consumer, read_before)
    return any(ends[tp] < offset for tp, offset in read_before.items())


def _read_through(value: bytes) -> str | None:
    """The position a read mark's value names (None: not a mark this code wrote)."""
    try:
        position = json.loads(value).get("read_through")
    except (ValueError, AttributeError):
        return None
    return position if isinstance(position, str) else None


def _start_after(starts: dict[TopicPartition, int], position: str | None) -> None:
    """Move the tail's start on the position's partition past ``topic/partition@offset``."""
    if not position:
        return
    where, _, offset = position.rpartition("@")
    topic, _, partition = where.rpartition("/")
    try:
        tp, after = TopicPartition(topic, int(partition)), int(offset) + 1
    except ValueError:
        return  # not a position this code wrote: start the partition where it was
    if tp in starts:
        starts[tp] = max(starts[tp], after)


def _beginnings(consumer: Consumer, topics: Sequence[str]) -> dict[TopicPartition, int]:
    """The first offset of every partition of ``topics`` (topics the broker lacks: none,
    and a warning: the register reads what the agreement names)."""
    starts = beginnings(consumer, topics)
    if not starts:
        for topic in topics:
            log.warning("register_topic_missing", topic=topic)
    return starts


class RegisterWriter:
    """The register consumer's handler: fold each alert message, write what changed.

    States are written at ``flush`` (once per batch, latest state per alert) and kept
    "dirty" until the broker acknowledged them: a failed write is retried with the
    redelivered batch, whose messages fold to no change but whose states still wait.
    Then the batch's read marks (the last offset handled per partition), only once the
    states are acknowledged: a mark never runs ahead of a state it vouches for.
    """

    def __init__(
        self,
        register: AlertRegister,
        producer: Producer,
        topic: str,
        *,
        dirty: set[str] | None = None,
        read: Mapping[TopicPartition, int] | None = None,
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
        marks = {tp: at for tp, at in self._read.items() if self._marked.get(tp) != at}
        if marks:
            self._write_marks(marks)

    def _write_states(self) -> None:
        futures = []
        for alert_id in sorted(self._dirty):
            state = self.register.get(alert_id)
            if state is not None:
                futures.append(
                    self._producer.send(self._topic, key=alert_id.encode(), value=state.to_json())
                )
        self._producer.flush(self._flush_timeout_s)
        for future in futures:
            future.get(0)
        log.debug("register_written", states=len(futures))
        self._dirty.clear()
        self._count_live()

    def _write_marks(self, marks: Mapping[TopicPartition, int]) -> None:
        futures = []
        for tp, offset in sorted(marks.items()):
            where = f"{tp.topic}/{tp.partition}"
            value = json.dumps({"read_through": f"{where}@{offset}"}).encode()
            key = READ_MARK_PREFIX + where.encode()
            futures.append(self._producer.send(self._topic, key=key, value=value))
        self._producer.flush(self._flush_timeout_s)
        for future in futures:
            future.get(0)
        self._marked.update(marks)

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
    writer = RegisterWriter(register, producer, topic, dirty=loaded.changed, read=tail_read)
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
        return runtime.run_forever(max_messages=max_messages, idle_timeout=idle_timeout)
    finally:
        for close in (producer.close, dlq.close, dedupe.close):
            try:
                close()
            except Exception as exc:
                log.warning("register_close_failed", error=str(exc))
