"""The idempotent consumer's memory: which message ids one consumer group has handled.

Kafka delivers at least once. A consumer that crashes after its sink took a batch but
before it committed the offsets gets that batch again. The runtime keeps the order

    sink durable (handler.flush)  ->  mark the batch's ids here (one transaction)
                                  ->  commit the offsets

so on redelivery this store says "seen" and the loop skips the message without calling
the handler. This is the second line: sinks are themselves idempotent on the message id
(a file named after it, an HTTP ``Idempotency-Key``, a Kafka transaction), which covers a
crash between the flush and the mark; the store spares the sink that repeated work and
keeps messages that were redelivered or replayed (same ``ce_id``) from being handed on.

Only handled messages are marked. A dead-lettered message is not: a forged message that
borrowed a real message's id must not make the real one look handled, and a replay from
the DLQ must find the id unseen.

SQLite, opened as every state file is (``runtime.state_db``: WAL, ``synchronous=NORMAL``,
why both). One file per consumer group, under the state directory; workers of a group on
one host share it.

Ids are pruned by age (``retention``, default 90 days, the DLQ's retention). A replay puts
the original message back on its original topic, where every other consumer group sees it
again; those groups handled it the first time, and their stores must still hold its id
however old the DLQ entry is. Crash and rebalance redeliveries need only minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from types import TracebackType

from consumers.dlq import DLQ_RETENTION_MS
from runtime.state_db import group_file, open_state_db

#: As long as the DLQ keeps an entry (see the module docstring).
DEFAULT_RETENTION = timedelta(milliseconds=DLQ_RETENTION_MS)
#: SQLite allows 32,766 bound parameters per statement since 3.32; stay well below.
_CHUNK = 500
_SCHEMA = """
CREATE TABLE IF NOT EXISTS handled (
    message_id TEXT PRIMARY KEY,
    handled_at INTEGER NOT NULL          -- unix seconds
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS handled_by_age ON handled (handled_at);
"""


def store_path(state_dir: Path, group: str) -> Path:
    """Where the dedupe store of consumer group ``group`` lives under ``state_dir``."""
    return group_file(state_dir, "dedupe", group)


class DedupeStore:
    """A persistent set of handled message ids with their time, pruned by age.

    Use from one thread at a time (each worker opens its own store on the same file).
    """

    def __init__(
        self,
        path: Path,
        *,
        retention: timedelta = DEFAULT_RETENTION,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.retention = retention
        self._clock = clock
        self._db = open_state_db(path)
        # Message ids are random uuids: each insert dirties its own page of the key b-tree.
        # A larger cache and a WAL checkpointed every ~32 MB instead of 4 MB let repeated
        # writes to one page coalesce (measured with a million ids: ~100 -> ~25-40 us/id).
        self._db.execute("PRAGMA cache_size=-32768")
        self._db.execute("PRAGMA wal_autocheckpoint=8000")
        self._db.executescript(_SCHEMA)
        self._db.commit()

    @classmethod
    def for_group(
        cls, state_dir: Path, group: str, *, retention: timedelta = DEFAULT_RETENTION
    ) -> DedupeStore:
        """The store of consumer group ``group`` under ``state_dir``."""
        return cls(store_path(state_dir, group), retention=retention)

    def seen(self, message_ids: Iterable[str]) -> set[str]:
        """Which of ``message_ids`` were marked handled (and not yet pruned)."""
        ids = list(dict.fromkeys(message_ids))
        found: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT message_id FROM handled WHERE message_id IN ({marks})",  # noqa: S608
                chunk,
            )
            found.update(row[0] for row in rows)
        return found

    def mark(self, message_ids: Iterable[str]) -> None:
        """Mark ``message_ids`` handled, all in one transaction (a batch is all or nothing).

        An id marked before keeps its first time: retention counts from the first handling.
        """
        now = int(self._clock())
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO handled (message_id, handled_at) VALUES (?, ?)",
                ((message_id, now) for message_id in message_ids),
            )

    def prune(self) -> int:
        """Forget ids handled longer ago than ``retention``; returns how many were dropped."""
        cutoff = int(self._clock() - self.retention.total_seconds())
        with self._db:
            cursor = self._db.execute("DELETE FROM handled WHERE handled_at < ?", (cutoff,))
        return cursor.rowcount

    def __len__(self) -> int:
        row = self._db.execute("SELECT count(*) FROM handled").fetchone()
        return int(row[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> DedupeStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
