"""Reading the DLQ of a consumer group, and replaying its entries after a fix.

A replay re-publishes an entry's original key, value and headers (the ``hx_dlq_*`` ones
dropped) to the partition it was read from, with ``hx_replay_of`` = the entry's DLQ id and
``hx_replay_count`` = how many times this message has now been replayed. The value is
sent byte for byte: the signature still covers it, and ``ce_id`` (the message id) is the
original one.

Replaying the same entry twice does not deliver twice, for two reasons:

1. the replay log (SQLite, under the state directory) records each entry it replayed and
   the next replay skips it. A log of entries, not a committed consumer-group offset on
   the DLQ topic, because an operator replays selectively (``--id``, ``--since``,
   ``--reason``: the one message whose cause was fixed), which a single offset cannot
   describe;
2. every consumer dedupes on the message id: a second copy of a message it has handled
   is skipped as a duplicate. This also covers a replay from another host (which does not
   share the log) and a crash between the broker's ack and the log entry. It is also why
   the other consumer groups of the original topic, which handled the message the first
   time, are not disturbed by the replayed copy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from consumers import dlq
from runtime import REPLAY_HEADERS, Settings, open_consumer, open_producer
from runtime.kafka import Consumer, ConsumerOptions, Producer, Record
from runtime.topic_end import beginnings, read_to_end
from schemas import dlq_topic
from schemas.timestamps import format_time


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One DLQ entry: where it sits in the DLQ, and the original message with the reason."""

    partition: int
    offset: int
    timestamp: datetime
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    @property
    def entry_id(self) -> str:
        """The entry's name: its offset (``2:17`` on a DLQ that was given more partitions)."""
        return str(self.offset) if self.partition == 0 else f"{self.partition}:{self.offset}"

    def header(self, name: str) -> str | None:
        """The last header called ``name`` as text, or None."""
        found = None
        for key, value in self.headers:
            if key == name:
                found = value
        return None if found is None else found.decode("utf-8", "replace")

    @property
    def reason(self) -> str:
        return self.header(dlq.REASON) or "?"

    @property
    def error_class(self) -> str:
        return self.header(dlq.ERROR_CLASS) or "?"

    @property
    def message(self) -> str:
        return self.header(dlq.MESSAGE) or ""

    @property
    def origin_topic(self) -> str | None:
        return self.header(dlq.TOPIC)

    @property
    def origin_partition(self) -> int | None:
        text = self.header(dlq.PARTITION)
        return int(text) if text and text.isdigit() else None

    @property
    def origin_offset(self) -> int | None:
        text = self.header(dlq.OFFSET)
        return int(text) if text and text.isdigit() else None

    @property
    def message_id(self) -> str | None:
        """The original ``ce_id``, if the message had one."""
        return self.header("ce_id")

    @property
    def replay_count(self) -> int:
        text = self.header(dlq.REPLAY_COUNT)
        return int(text) if text and text.isdigit() else 0

    def original_headers(self) -> list[tuple[str, bytes]]:
        """The headers the message had before it was dead-lettered (and replayed): without
        ``hx_dlq_*``, the replay's, and the CloudEvents headers the entry added."""
        added = set((self.header(dlq.ADDED) or "").split(","))
        return [
            (name, value)
            for name, value in self.headers
            if not name.startswith(dlq.DLQ_PREFIX)
            and name not in REPLAY_HEADERS
            and name not in added
        ]


def read_dead_letters(
    settings: Settings,
    group: str,
    *,
    since: datetime | None = None,
    consumer_factory: Callable[[Settings, ConsumerOptions], Consumer] = open_consumer,
) -> Iterator[DeadLetter]:
    """Every entry of ``hx.dlq.<group>`` (written at or after ``since``), oldest first.

    Reads without a consumer group (nothing is committed): listing is not consuming.
    """
    topic = dlq_topic(group)
    consumer = consumer_factory(settings, ConsumerOptions())
    try:
        starts = beginnings(consumer, [topic])
        if since is not None and starts:
            stamp = int(since.timestamp() * 1000)
            found = consumer.offsets_for_times(dict.fromkeys(starts, stamp))
            end = consumer.end_offsets(list(starts))
            for tp in starts:
                hit = found.get(tp)
                starts[tp] = hit if hit is not None else end[tp]
        for record in read_to_end(consumer, starts, what=f"read {topic}"):
            yield _entry(record)
    finally:
        consumer.close()


def _entry(record: Record) -> DeadLetter:
    return DeadLetter(
        partition=record.partition,
        offset=record.offset,
        timestamp=datetime.fromtimestamp(record.timestamp_ms / 1000, UTC),
        key=record.key,
        value=record.value,
        headers=list(record.headers),
    )


class ReplayLog:
    """The DLQ entries this host has replayed, so a second replay skips them."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS replayed ("
            " dlq_topic TEXT NOT NULL, entry_id TEXT NOT NULL, message_id TEXT,"
            " replayed_at TEXT NOT NULL, target TEXT NOT NULL,"
            " PRIMARY KEY (dlq_topic, entry_id)) WITHOUT ROWID"
        )
        self._db.commit()

    @classmethod
    def under(cls, state_dir: Path) -> ReplayLog:
        return cls(state_dir / "dlq-replays.sqlite")

    def replayed(self, topic: str, entry_id: str) -> str | None:
        """When entry ``entry_id`` of DLQ ``topic`` was replayed, or None."""
        row = self._db.execute(
            "SELECT replayed_at FROM replayed WHERE dlq_topic = ? AND entry_id = ?",
            (topic, entry_id),
        ).fetchone()
        return None if row is None else str(row[0])

    def record(self, topic: str, entry: DeadLetter, target: str) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO replayed VALUES (?, ?, ?, ?, ?)",
                (topic, entry.entry_id, entry.message_id, format_time(datetime.now(UTC)), target),
            )

    def close(self) -> None:
        self._db.close()


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What ``replay`` did with one entry: ``replayed`` (to ``target``) or ``skipped``."""

    entry: DeadLetter
    status: str
    detail: str


def replay(
    settings: Settings,
    group: str,
    entries: list[DeadLetter],
    replay_log: ReplayLog,
    *,
    producer: Producer | None = None,
    timeout_s: float = 30.0,
) -> list[ReplayResult]:
    """Re-publish ``entries`` to where they came from, each at most once per replay log.

    Waits for the broker's acknowledgement (acks=all) of each entry before logging it.
    """
    topic = dlq_topic(group)
    own_producer = producer is None
    if producer is None:
        producer = open_producer(settings)
    results = []
    try:
        for entry in entries:
            when = replay_log.replayed(topic, entry.entry_id)
            if when is not None:
                results.append(ReplayResult(entry, "skipped", f"already replayed at {when}"))
                continue
            if entry.origin_topic is None:
                results.append(ReplayResult(entry, "skipped", "entry names no original topic"))
                continue
            headers = [
                *entry.original_headers(),
                (dlq.REPLAY_OF, entry.entry_id.encode()),
                (dlq.REPLAY_SEQUENCE, str(entry.replay_count + 1).encode()),
            ]
            future = producer.send(
                entry.origin_topic,
                key=entry.key,
                value=entry.value,
                headers=headers,
                partition=entry.origin_partition,
            )
            metadata = future.get(timeout_s)
            target = f"{metadata.topic}/{metadata.partition}@{metadata.offset}"
            replay_log.record(topic, entry, target)
            results.append(ReplayResult(entry, "replayed", target))
    finally:
        if own_producer:
            producer.close()
    return results
