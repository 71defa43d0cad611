"""The dead-letter queue of a consumer group: ``hx.dlq.<group>``.

A poison message is copied there as it was (key, value, every original header) plus
``hx_dlq_*`` headers that say why and where it came from, so an operator can read the
reason and, once the cause is fixed, replay the original bytes unchanged (``hxbus dlq
replay``). An entry is a complete CloudEvent like every message on the bus: the
CloudEvents headers an original lacked (garbage, a foreign producer) are added, with a
fresh id, the group as source, type ``DeadLetter`` and ``application/octet-stream``, and
named in ``hx_dlq_added`` so that a replay leaves them out again.

The write is acknowledged by the broker (acks=all, idempotent producer) before the runtime
commits the poison message's offset: a crash in between writes the entry again, it never
loses it.

The topic is created on first use if missing: one partition (poison is rare, so one
partition costs nothing and keeps the entries in the order they failed, with the offset
alone naming an entry), replication fitted to the cluster (3 in production), and a 90-day
retention, long enough for a fix and a replay.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import structlog

from runtime import (
    CreateTopic,
    Settings,
    TopicSpec,
    open_admin,
    open_producer,
    read_cluster_state,
)
from runtime.kafka import Producer, SendFuture
from schemas import dlq_topic
from schemas.errors import public_text
from schemas.timestamps import format_time

log = structlog.get_logger("hxbus.dlq")

# The headers a DLQ entry adds to the original ones.
REASON = "hx_dlq_reason"
ERROR_CLASS = "hx_dlq_error_class"
#: The authority rule a ``not_authorized`` entry broke (``schemas.authority.RULES``).
RULE = "hx_dlq_rule"
MESSAGE = "hx_dlq_message"
TOPIC = "hx_dlq_topic"
PARTITION = "hx_dlq_partition"
OFFSET = "hx_dlq_offset"
GROUP = "hx_dlq_group"
TIME = "hx_dlq_time"
REPLAY_COUNT = "hx_dlq_replay_count"
#: The CloudEvents headers the entry added because the original lacked them (comma-separated
#: names): a replay leaves them out, so it re-publishes the original headers unchanged.
ADDED = "hx_dlq_added"
#: Headers a replay adds to the re-published original (see consumers.replay).
REPLAY_OF = "hx_replay_of"
REPLAY_SEQUENCE = "hx_replay_count"

DLQ_PREFIX = "hx_dlq_"
#: Reason of a message whose retriable failures outlasted ``RetryPolicy.dead_letter_after``.
RETRIES_EXHAUSTED = "retries_exhausted"
DLQ_RETENTION_MS = 90 * 24 * 3600 * 1000
#: An error text longer than this is cut (a header is not a log file).
MAX_MESSAGE_CHARS = 2000


def dead_letter_headers(
    original: Iterable[tuple[str, bytes]],
    *,
    error: BaseException,
    reason: str,
    topic: str,
    partition: int,
    offset: int,
    group: str,
    now: datetime,
    now_text: str | None = None,
) -> list[tuple[str, bytes]]:
    """The headers of a DLQ entry: the original ones (minus any older ``hx_dlq_*``) + ours.

    A message that comes back to the DLQ from a replay carries ``hx_replay_count`` (set by
    the replay); the entry repeats it as ``hx_dlq_replay_count``. ``now_text`` is
    ``format_time(now)`` when the caller has it already (one per batch).
    """
    kept = [(name, value) for name, value in original if not name.startswith(DLQ_PREFIX)]
    present = {name for name, _ in kept}
    if now_text is None:
        now_text = format_time(now)
    added = (
        []
        if present.issuperset(_COMPLETION_NAMES)
        else [
            (name, value)
            for name, value in _cloudevent_completion(group, now_text)
            if name not in present
        ]
    )
    # The DLQ is kept 90 days and read by operators: field path and rule, never a value.
    text = public_text(error)
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1] + "…"
    ours = [
        (REASON, reason),
        (ERROR_CLASS, type(error).__name__),
        (MESSAGE, text),
        (TOPIC, topic),
        (PARTITION, str(partition)),
        (OFFSET, str(offset)),
        (GROUP, group),
        (TIME, now_text),
    ]
    rule = getattr(error, "rule", None)
    if isinstance(rule, str):
        ours.append((RULE, rule))
    replays = dict(kept).get(REPLAY_SEQUENCE)
    if replays:
        ours.append((REPLAY_COUNT, replays.decode("utf-8", "replace")))
    if added:
        ours.append((ADDED, ",".join(name for name, _ in added)))
    return kept + [(n, v.encode("utf-8")) for n, v in added] + [(n, v.encode()) for n, v in ours]


#: ``ce_type`` of a DLQ entry whose original did not say its type.
DEAD_LETTER_TYPE = "DeadLetter"


def _cloudevent_completion(group: str, now_text: str) -> list[tuple[str, str]]:
    """The CloudEvents attributes a DLQ entry carries when its original had none."""
    return [
        ("ce_specversion", "1.0"),
        ("ce_id", str(uuid.uuid4())),
        ("ce_source", group),
        ("ce_type", DEAD_LETTER_TYPE),
        ("ce_time", now_text),
        ("content-type", "application/octet-stream"),
    ]


#: The names ``_cloudevent_completion`` may add: an original carrying all of them (every
#: exchange message: a forged or refused one too) needs none, nor a fresh uuid.
_COMPLETION_NAMES = frozenset(name for name, _ in _cloudevent_completion("", ""))


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a dead-lettered message was read: what the runtime commits once it is safe."""

    topic: str
    partition: int
    offset: int


class DeadLetterSink(Protocol):
    """What the consumer loop needs of a DLQ (``DeadLetterQueue``, or a fake in a test)."""

    def send(
        self,
        origin: Origin,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
        error: BaseException,
        reason: str,
    ) -> None: ...

    def flush(self) -> set[Origin]:
        """Wait for every write since the last flush; return the origins NOT acknowledged."""
        ...


@dataclass(slots=True)
class _Pending:
    origin: Origin
    future: SendFuture | None = None
    error: BaseException | None = None


@dataclass
class DeadLetterQueue:
    """Writes the poison of one consumer group to ``hx.dlq.<group>``."""

    settings: Settings
    group: str
    #: A producer to share (tests); by default one of our own, acks=all and idempotent.
    producer: Producer | None = None
    #: Replication asked for (fitted to the live brokers) and its min.insync.replicas.
    replication: int = 3
    min_insync_replicas: int = 2
    ensure_topic: bool = True
    flush_timeout_s: float = 60.0
    _pending: list[_Pending] = field(default_factory=list, init=False)
    _owns_producer: bool = field(default=False, init=False)
    #: This batch's time, its text and the entries' partition (``_start_batch``).
    _batch: tuple[datetime, str, int | None] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.topic = dlq_topic(self.group)
        if self.ensure_topic:
            ensure_dlq_topic(self.settings, self.topic, self.replication, self.min_insync_replicas)
        if self.producer is None:
            self.producer = open_producer(self.settings)
            self._owns_producer = True

    def send(
        self,
        origin: Origin,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
        error: BaseException,
        reason: str,
    ) -> None:
        """Queue one DLQ entry; ``flush`` says whether the broker took it.

        The entries queued between two flushes (one batch of the runtime) share one clock
        read (``hx_dlq_time``) and one look-up of the topic's partitions: a bridge under
        attack dead-letters thousands a second, and each read and each partitioner run
        (kafka-python's murmur2 in pure Python) was paid per entry.
        """
        batch = self._batch
        if batch is None:
            batch = self._batch = self._start_batch()
        now, now_text, partition = batch
        entry_headers = dead_letter_headers(
            headers,
            error=error,
            reason=reason,
            topic=origin.topic,
            partition=origin.partition,
            offset=origin.offset,
            group=self.group,
            now=now,
            now_text=now_text,
        )
        pending = _Pending(origin)
        try:
            assert self.producer is not None
            # kafka-python refuses a record with neither key nor value.
            body = b"" if value is None and key is None else value
            if partition is None:
                pending.future = self.producer.send(
                    self.topic, key=key, value=body, headers=entry_headers
                )
            else:
                pending.future = self.producer.send(
                    self.topic, key=key, value=body, headers=entry_headers, partition=partition
                )
        except Exception as exc:  # not queued at all: flush reports it as not acknowledged
            pending.error = exc
        self._pending.append(pending)

    def _start_batch(self) -> tuple[datetime, str, int | None]:
        """The batch's time (and its text) and the partition its entries go to: the only
        one of a one-partition topic (as this queue creates it), read once per batch with
        the producer this queue made; None (the producer's partitioner) otherwise."""
        now = datetime.now(UTC)
        partition: int | None = None
        if self._owns_producer and self.producer is not None:
            try:
                partitions = self.producer.partitions_for(self.topic)
            except Exception:  # the send reports what is wrong, per entry, as before
                partitions = frozenset()
            if len(partitions) == 1:
                (partition,) = partitions
        return now, format_time(now), partition

    def flush(self) -> set[Origin]:
        """Wait for the broker to acknowledge every queued entry; the ones it did not."""
        self._batch = None  # the next batch reads the clock and the partitions again
        if not self._pending:
            return set()
        try:
            assert self.producer is not None
            self.producer.flush(self.flush_timeout_s)
        except Exception as exc:
            log.warning("dlq_flush_failed", topic=self.topic, error=str(exc))
        failed: set[Origin] = set()
        for pending in self._pending:
            future = pending.future
            if future is None or not future.is_done or future.error is not None:
                failed.add(pending.origin)
                error = pending.error or (future.error if future is not None else None)
                log.warning(
                    "dlq_write_failed",
                    topic=self.topic,
                    origin_topic=pending.origin.topic,
                    origin_partition=pending.origin.partition,
                    origin_offset=pending.origin.offset,
                    error=str(error) if error else "not acknowledged in time",
                )
        self._pending.clear()
        return failed

    def close(self) -> None:
        if self._owns_producer and self.producer is not None:
            self.producer.close()


def ensure_dlq_topic(
    settings: Settings, topic: str, replication: int = 3, min_insync_replicas: int = 2
) -> None:
    """Create ``topic`` (1 partition, 90 days) if the cluster lacks it; idempotent."""
    admin = open_admin(settings)
    try:
        state = read_cluster_state(admin, [topic])
        if topic in state.topics:
            return
        # A one-node development broker cannot hold three replicas (as provisioning does).
        rf = max(1, min(replication, state.brokers))
        min_isr = min(min_insync_replicas, rf)
        spec = TopicSpec(
            topic,
            partitions=1,
            replication=rf,
            configs={
                "cleanup.policy": "delete",
                "min.insync.replicas": str(min_isr),
                "retention.ms": str(DLQ_RETENTION_MS),
            },
        )
        CreateTopic(spec).apply(admin)
        log.info("dlq_topic_created", topic=topic, replication=rf)
    finally:
        admin.close()
