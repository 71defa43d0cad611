"""The drill's independent ledger: what the publisher got acknowledged, and who must get it.

The drill's proof must not lean on the bookkeeping of the roles it is testing (their
dedupe stores, held alerts, offsets, metrics). So the drill's own publisher writes, in
one SQLite file of the drill's own:

- ``intents``: each event (by its sequence number in the seeded traffic) before any byte
  of it is handed to Kafka — so a publisher killed with events in flight knows, when it
  starts again, which ones it must send again;
- ``acks``: each event once the broker acknowledged every copy of it (``acks=all``,
  in-sync replicated), with the copies' message ids and where they were stored;
- ``expected``: for each copy, the provinces whose local systems must receive it, by the
  design's rules (``hxbus.drill.rulebook``), decided when it is acknowledged. Copies that
  share a ``one_of`` key (a need-to-know alert's copies for the agencies of one province)
  are one delivery: the province's local system must get exactly one of them;
- ``refusals``: each event the Publisher refused for good (not retriable): never sent,
  never acknowledged, and a failure of the drill (its traffic is valid by construction).

``synchronous=FULL``: every commit is fsynced, so a kill -9 (or a power cut) of the
publisher never loses a line the drill later relies on. Times are wall-clock seconds
(``time.time()``), the clock the inbox files' mtimes and the receiver's log use too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS intents (
    seq INTEGER PRIMARY KEY, event_type TEXT NOT NULL, intended_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS acks (
    seq INTEGER PRIMARY KEY, acked_at REAL NOT NULL, resent INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS copies (
    message_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, event_type TEXT NOT NULL,
    topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
    business_key TEXT NOT NULL, alert_id TEXT, one_of TEXT);
CREATE TABLE IF NOT EXISTS expected (
    message_id TEXT NOT NULL, province TEXT NOT NULL, agencies TEXT NOT NULL,
    PRIMARY KEY (message_id, province));
CREATE TABLE IF NOT EXISTS refusals (
    seq INTEGER PRIMARY KEY, reason TEXT NOT NULL, refused_at REAL NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Copy:
    """One acknowledged copy of an event and where it must be delivered."""

    message_id: str
    event_type: str
    topic: str
    partition: int
    offset: int
    business_key: str
    alert_id: str | None
    #: Province key -> the agencies of that province the copy is addressed to.
    provinces: dict[str, tuple[str, ...]]
    #: The delivery this copy is one candidate of (``Due.key``); its own id when alone.
    one_of: str = ""

    @property
    def delivery(self) -> str:
        """The key of the delivery this copy may fulfil (its own message id when alone)."""
        return self.one_of or self.message_id


@dataclass(frozen=True, slots=True)
class AckedCopy:
    """A copy as the checker reads it back: the copy, its event's sequence and ack time."""

    copy: Copy
    seq: int
    acked_at: float
    resent: bool


class Ledger:
    """The drill's ledger file; one writer (the drill's publisher), any number of readers."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- the run's parameters ----------------------------------------------------------

    def set_meta(self, values: dict[str, str]) -> None:
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", values.items()
            )

    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    # -- the publisher's side ----------------------------------------------------------

    def intend(self, seq: int, event_type: str, at: float) -> None:
        """Record (durably) that event ``seq`` is about to be handed to Kafka."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO intents (seq, event_type, intended_at) VALUES (?, ?, ?) "
                "ON CONFLICT (seq) DO UPDATE SET attempts = attempts + 1",
                (seq, event_type, at),
            )

    def acknowledge(self, seq: int, at: float, copies: Iterable[Copy], *, resent: bool) -> None:
        """Record (durably) that every copy of event ``seq`` was acknowledged."""
        with self._transaction():
            for copy in copies:
                self._db.execute(
                    'INSERT OR REPLACE INTO copies (message_id, seq, event_type, topic, '
                    'partition, "offset", business_key, alert_id, one_of) '
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        copy.message_id, seq, copy.event_type, copy.topic, copy.partition,
                        copy.offset, copy.business_key, copy.alert_id, copy.delivery,
                    ),
                )  # fmt: skip
                self._db.executemany(
                    "INSERT OR REPLACE INTO expected (message_id, province, agencies) "
                    "VALUES (?, ?, ?)",
                    [
                        (copy.message_id, province, json.dumps(list(agencies)))
                        for province, agencies in copy.provinces.items()
                    ],
                )
            self._db.execute(
                "INSERT OR IGNORE INTO acks (seq, acked_at, resent) VALUES (?, ?, ?)",
                (seq, at, int(resent)),
            )

    def refuse(self, seq: int, reason: str, at: float) -> None:
        """Record (durably) that event ``seq`` was refused for good (never to be sent)."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO refusals (seq, reason, refused_at) VALUES (?, ?, ?)",
                (seq, reason, at),
            )

    def refused(self) -> dict[int, str]:
        """Event sequence number -> the reason it was refused for good."""
        return dict(self._db.execute("SELECT seq, reason FROM refusals").fetchall())

    def intended(self) -> set[int]:
        return {row[0] for row in self._db.execute("SELECT seq FROM intents")}

    def acknowledged(self) -> set[int]:
        return {row[0] for row in self._db.execute("SELECT seq FROM acks")}

    def in_flight(self) -> int:
        """Events intended and not acknowledged (yet), nor refused for good."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM intents WHERE seq NOT IN (SELECT seq FROM acks) "
            "AND seq NOT IN (SELECT seq FROM refusals)"
        ).fetchone()
        return int(row[0])

    def counts(self) -> tuple[int, int]:
        """(events intended, events acknowledged)."""
        intended = self._db.execute("SELECT COUNT(*) FROM intents").fetchone()[0]
        acked = self._db.execute("SELECT COUNT(*) FROM acks").fetchone()[0]
        return int(intended), int(acked)

    def holders(self) -> dict[str, set[str]]:
        """Alert id -> provinces expected to hold it (some revision was for them)."""
        held: dict[str, set[str]] = {}
        rows = self._db.execute(
            "SELECT c.alert_id, e.province FROM copies c JOIN expected e USING (message_id) "
            "WHERE c.event_type IN ('PersonAlert', 'VehicleAlert')"
        )
        for alert_id, province in rows:
            held.setdefault(alert_id, set()).add(province)
        return held

    # -- the checker's side ------------------------------------------------------------

    def copies(self) -> Iterator[AckedCopy]:
        """Every acknowledged copy with its expected provinces, in sequence order."""
        expected: dict[str, dict[str, tuple[str, ...]]] = {}
        for message_id, province, agencies in self._db.execute(
            "SELECT message_id, province, agencies FROM expected"
        ):
            expected.setdefault(message_id, {})[province] = tuple(json.loads(agencies))
        rows = self._db.execute(
            'SELECT c.message_id, c.event_type, c.topic, c.partition, c."offset", '
            "c.business_key, c.alert_id, c.one_of, c.seq, a.acked_at, a.resent "
            "FROM copies c JOIN acks a USING (seq) ORDER BY c.seq"
        )
        for (
            message_id,
            event_type,
            topic,
            partition,
            offset,
            key,
            alert_id,
            one_of,
            seq,
            at,
            resent,
        ) in rows:
            copy = Copy(
                message_id, event_type, topic, partition, offset, key, alert_id,
                expected.get(message_id, {}), one_of or "",
            )  # fmt: skip
            yield AckedCopy(copy, seq, at, bool(resent))

    def resent(self) -> int:
        """Events acknowledged by a publisher that sent them again after a restart."""
        return int(self._db.execute("SELECT COUNT(*) FROM acks WHERE resent = 1").fetchone()[0])

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error): one fsynced commit per call."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
