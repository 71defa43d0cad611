"""The request tracker's durable state: one SQLite row per item, under the state directory.

Why durable, rather than rebuilt from the topics at each start: ``hxbus requests`` must
answer at once, from another process, while the tracker runs, which a replay of ten
inboxes (90 days of retention) on every call cannot; and "a second notice was sent" must
be a fact written down before and after the send, so that a restart does not send it
again. The topics stay the source of truth: the store is written in the handler's
``flush``, before the consumer commits, so a crash only replays messages whose effect the
store already holds (every write here is idempotent); and a store that is lost is rebuilt
by resetting the group's offsets, the second notices already in the inboxes being
recognised by their ``causation_id`` (see ``consumers.tracker.second_notice``).

Rows are keyed ``(kind, item_id, target)``. An answer can arrive before its request (they
travel in different inboxes), so a row may first hold only an answer; the request fills
in the rest. The first sighting of a request wins (its second notice repeats it). The
original message (its JSON form) is kept only while a second notice may still be needed,
and dropped once the item is answered or its notice sent: the store does not keep case
text longer than it must.

The second notice is claimed in one transaction (``notice`` from ``none`` to ``sending``)
before it is sent, and marked ``sent`` after the broker acknowledged it; trackers on one
host sharing this file therefore never both send one. A claim left ``sending`` by a crash
is sent again after ``claim_timeout`` with the same derived message id, which receivers
de-duplicate.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

from consumers.tracker.state import Answer, Expectation, NoticeState, TrackedItem
from runtime.state_db import group_file, open_state_db
from schemas.errors import ConfigError

DEFAULT_GROUP = "hx.tracker"
#: A claim older than this is taken to be the leftover of a crashed send (seconds): the
#: Publisher's default delivery timeout (120 s) plus its margin, with room.
DEFAULT_CLAIM_TIMEOUT = timedelta(seconds=180)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    kind TEXT NOT NULL,
    item_id TEXT NOT NULL,
    target TEXT NOT NULL,
    requester TEXT,                 -- NULL: only an answer seen so far
    priority TEXT,
    issued_at INTEGER,              -- every time: unix milliseconds, UTC
    ack_by INTEGER,
    respond_by INTEGER,
    message_id TEXT,
    acknowledged_at INTEGER,
    answered_at INTEGER,
    notice TEXT NOT NULL DEFAULT 'none',
    notice_at INTEGER,              -- claimed (sending) or sent
    original TEXT,                  -- JSON form of the request or hit, while a notice may be due
    PRIMARY KEY (kind, item_id, target)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_open ON items (notice, answered_at);
"""
_COLUMNS = (
    "kind, item_id, target, requester, priority, issued_at, ack_by, respond_by, message_id, "
    "acknowledged_at, answered_at, notice, notice_at"
)


def tracker_path(state_dir: Path, group: str = DEFAULT_GROUP) -> Path:
    """Where the state of the tracker of consumer group ``group`` lives."""
    return group_file(state_dir, "tracker", group)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(value: int | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value / 1000, UTC)


def _item(row: tuple[object, ...]) -> TrackedItem:
    (kind, item_id, target, requester, priority, issued, ack, respond, message_id) = row[:9]
    acknowledged, answered, notice, notice_at = row[9:]
    return TrackedItem(
        kind=str(kind),
        item_id=str(item_id),
        target=str(target),
        requester=str(requester),
        priority=str(priority),
        issued_at=_required(issued),
        ack_by=_required(ack),
        respond_by=_required(respond),
        message_id=str(message_id),
        acknowledged_at=from_ms(acknowledged),  # type: ignore[arg-type]
        answered_at=from_ms(answered),  # type: ignore[arg-type]
        notice=NoticeState(str(notice)),
        notice_sent_at=from_ms(notice_at) if notice == NoticeState.SENT else None,  # type: ignore[arg-type]
    )


def _required(value: object) -> datetime:
    assert isinstance(value, int)
    return datetime.fromtimestamp(value / 1000, UTC)


class TrackerStore:
    """The items of one tracker group. One connection per thread (each opens its own)."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        if not create and not path.exists():
            raise ConfigError(
                f"tracker state {path}: does not exist; is `hxbus tracker run` running "
                "with this HX_STATE_DIR and group?"
            )
        self.path = path
        self._db = open_state_db(path)
        self._db.executescript(_SCHEMA)
        self._db.commit()

    @classmethod
    def for_group(
        cls, state_dir: Path, group: str = DEFAULT_GROUP, *, create: bool = True
    ) -> TrackerStore:
        return cls(tracker_path(state_dir, group), create=create)

    # -- written by the consumer (committed by ``commit``, in the handler's flush) ---------

    def expect(self, expectation: Expectation, message_id: str, original: str) -> None:
        """Record a request or hit; a row that already has one keeps it (first sighting)."""
        e = expectation
        self._db.execute(
            f"""INSERT INTO items ({_COLUMNS}, original)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, 'none', NULL, ?)
                ON CONFLICT (kind, item_id, target) DO UPDATE SET
                    requester = excluded.requester, priority = excluded.priority,
                    issued_at = excluded.issued_at, ack_by = excluded.ack_by,
                    respond_by = excluded.respond_by, message_id = excluded.message_id,
                    original = CASE WHEN items.answered_at IS NULL
                                    THEN excluded.original END
                WHERE items.requester IS NULL""",  # noqa: S608 (column list is a constant)
            (
                e.kind,
                e.item_id,
                e.target,
                e.requester,
                e.priority,
                to_ms(e.issued_at),
                to_ms(e.ack_by),
                to_ms(e.respond_by),
                message_id,
                original,
            ),
        )

    def answer(self, answer: Answer) -> None:
        """Record an acknowledgement or an answer; the first of each counts."""
        at = to_ms(answer.at)
        answered = at if answer.answered else None
        self._db.execute(
            """INSERT INTO items (kind, item_id, target, acknowledged_at, answered_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (kind, item_id, target) DO UPDATE SET
                   acknowledged_at = min(coalesce(items.acknowledged_at, excluded.acknowledged_at),
                                         excluded.acknowledged_at),
                   answered_at = CASE
                       WHEN excluded.answered_at IS NULL THEN items.answered_at
                       WHEN items.answered_at IS NULL THEN excluded.answered_at
                       ELSE min(items.answered_at, excluded.answered_at) END,
                   original = CASE WHEN excluded.answered_at IS NULL THEN items.original END""",
            (answer.kind, answer.item_id, answer.agency, at, answered),
        )

    def notice_seen(self, kind: str, item_id: str, target: str, causation_id: str) -> None:
        """A second notice of this item is in the target's inbox (ours, or a rebuild's)."""
        self._db.execute(
            """UPDATE items SET notice = 'sent', original = NULL,
                   notice_at = CASE WHEN notice = 'sent' THEN notice_at
                                    ELSE CAST(strftime('%s', 'now') AS INTEGER) * 1000 END
               WHERE kind = ? AND item_id = ? AND target = ? AND message_id = ?""",
            (kind, item_id, target, causation_id),
        )

    def commit(self) -> None:
        self._db.commit()

    def rollback(self) -> None:
        self._db.rollback()

    # -- second notices (the deadline watcher) -----------------------------------------------

    def due_notices(
        self, now: datetime, claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT
    ) -> list[tuple[TrackedItem, str]]:
        """Items whose notice is due (overdue, none sent), or whose claim was left by a
        crash, with their original message (JSON form)."""
        now_ms = to_ms(now)
        stale = to_ms(now - claim_timeout)
        rows = self._db.execute(
            f"""SELECT {_COLUMNS}, original FROM items
                WHERE requester IS NOT NULL AND answered_at IS NULL AND original IS NOT NULL
                  AND ((notice = 'none'
                        AND ((acknowledged_at IS NULL AND ack_by < ?) OR respond_by < ?))
                       OR (notice = 'sending' AND notice_at < ?))
                ORDER BY ack_by""",  # noqa: S608 (column list is a constant)
            (now_ms, now_ms, stale),
        ).fetchall()
        return [(_item(row[:-1]), str(row[-1])) for row in rows]

    def claim(
        self, item: TrackedItem, now: datetime, claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT
    ) -> bool:
        """Take the item's notice for sending (free, or a stale claim); False when it is
        sent or another tracker holds a live claim. One transaction: only one wins."""
        with self._db:
            cursor = self._db.execute(
                """UPDATE items SET notice = 'sending', notice_at = ?
                   WHERE kind = ? AND item_id = ? AND target = ? AND answered_at IS NULL
                     AND (notice = 'none' OR (notice = 'sending' AND notice_at < ?))""",
                (to_ms(now), item.kind, item.item_id, item.target, to_ms(now - claim_timeout)),
            )
        return cursor.rowcount == 1

    def sent(self, item: TrackedItem, now: datetime) -> None:
        """The broker acknowledged the notice: never again for this item."""
        with self._db:
            self._db.execute(
                """UPDATE items SET notice = 'sent', notice_at = ?, original = NULL
                   WHERE kind = ? AND item_id = ? AND target = ?""",
                (to_ms(now), item.kind, item.item_id, item.target),
            )

    def failed(self, item: TrackedItem) -> None:
        """The notice was refused before sending (not retriable): never tried again."""
        with self._db:
            self._db.execute(
                """UPDATE items SET notice = 'failed', original = NULL
                   WHERE kind = ? AND item_id = ? AND target = ?""",
                (item.kind, item.item_id, item.target),
            )

    def release(self, item: TrackedItem) -> None:
        """The send failed: give the claim back, the next sweep tries again."""
        with self._db:
            self._db.execute(
                """UPDATE items SET notice = 'none', notice_at = NULL
                   WHERE kind = ? AND item_id = ? AND target = ? AND notice = 'sending'""",
                (item.kind, item.item_id, item.target),
            )

    # -- reading -----------------------------------------------------------------------------

    def items(self) -> Iterator[TrackedItem]:
        """Every item whose request or hit was seen, oldest deadline first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM items WHERE requester IS NOT NULL "  # noqa: S608
            "ORDER BY ack_by, kind, item_id, target"
        )
        for row in rows:
            yield _item(row)

    def prune(self, before: datetime) -> int:
        """Forget items settled (answered, or noticed) whose answer was due before ``before``."""
        with self._db:
            cursor = self._db.execute(
                """DELETE FROM items WHERE respond_by < ?
                   AND (answered_at IS NOT NULL OR notice = 'sent')""",
                (to_ms(before),),
            )
        return cursor.rowcount

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TrackerStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
