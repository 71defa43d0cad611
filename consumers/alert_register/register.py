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

The role that keeps the snapshot (``RegisterWriter``, ``run_register``) is in
``consumers.alert_register.role``.
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
from consumers.authority_gate import said_of
from consumers.reading import MessageReader, Poison, utc_now
from runtime import Settings, Verifier, open_consumer
from runtime.kafka import Consumer, ConsumerOptions, TopicPartition
from runtime.topic_end import beginnings, read_to_end
from schemas import BROADCAST_TOPICS, Codec
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


def read_mark(tp: TopicPartition, offset: int) -> tuple[bytes, bytes]:
    """The key and value of the read mark saying ``tp`` is folded through ``offset``."""
    where = f"{tp.topic}/{tp.partition}"
    value = json.dumps({"read_through": f"{where}@{offset}"})
    return READ_MARK_PREFIX + where.encode(), value.encode()


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
