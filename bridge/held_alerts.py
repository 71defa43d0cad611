"""Which alerts a province's local system holds: the memory a withdrawal needs.

An AlertStatusChange carries no ``share_with``; it must reach every local system that
received the alert, however long ago, and no other. So the bridge records each alert it
delivered (any revision) here, and a status change is delivered when its alert is here.

The record is written in the same unit of work as the delivery: ``add`` stages the row in
an open SQLite transaction, and the bridge commits it in ``flush`` only after the sink made
the batch durable (and before the consumer commits its offsets); until then staged rows
wait in memory, read together with the file. A crash before the commit loses the row and
the offset alike; the batch comes again, the idempotent sink
answers "duplicate", and the row is staged again. A failed sink flush rolls the staged
rows back. A later status change in the same batch sees the staged row. One file per
consumer group under the state directory, shared by the group's workers.

Beside each alert, the agencies of the province that received it (``held_by``, the union
over its revisions): the audit records a withdrawal once per agency that got the alert,
so ``hxbus audit --alert ID`` can say, agency by agency, that the withdrawal reached it.

Need-to-know alerts arrive as one directed copy per agency (``bridge.inbound``), so two
more facts are kept: the agencies a narrowing revision dropped (``released``: the local
system drops the alert once no agency of the province still shares it), and the alerts
whose status change the local system already has (``ended``: the second agency's copy
of one withdrawal is audited, not delivered again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from runtime.state_db import StagedWrites, group_file, open_state_db
from schemas import utc_now_ms

_SCHEMA = """
CREATE TABLE IF NOT EXISTS held (
    alert_id TEXT PRIMARY KEY,
    alert_kind TEXT NOT NULL,
    revision INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    delivered_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS held_by (
    alert_id TEXT NOT NULL,
    agency TEXT NOT NULL,
    PRIMARY KEY (alert_id, agency)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS released (
    alert_id TEXT NOT NULL,
    agency TEXT NOT NULL,
    PRIMARY KEY (alert_id, agency)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ended (
    alert_id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL
) WITHOUT ROWID;
"""


def held_alerts_path(state_dir: Path, group: str) -> Path:
    """Where the held-alerts store of bridge group ``group`` lives under ``state_dir``."""
    return group_file(state_dir, "bridge", group, ".held.sqlite")


class HeldAlerts:
    """A persistent set of alert ids a province holds; ``add`` stages, ``commit`` keeps.

    Staged writes wait in memory (``_Staged``, read together with the file) and go to the
    file in one short transaction at ``commit``: the workers of a group share the file
    (``hxbus bridge run --workers``), and rows written as they are staged would hold the
    writer's lock from the batch's first alert to the end of its flush, so the workers
    would take turns. ``begin`` takes the lock early where a batch must read what another
    worker may be writing (need-to-know copies).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        # autocommit: ``begin``/``commit`` open the batch's transaction, ``commit``/``rollback``
        # end it.
        self._db = open_state_db(path, busy_timeout_s=10.0, autocommit=True)
        self._db.executescript(_SCHEMA)
        self._batch = StagedWrites(self._db)
        self._staged = _Staged()

    def begin(self) -> None:
        """Take the writer's lock for this batch now (``StateBusy`` if another worker of the
        group holds it past the busy timeout): what the batch reads from here on, no other
        worker changes until this batch commits or rolls back. Two need-to-know copies of
        one alert reach two workers through two agencies' inboxes; each worker must see
        whether the other delivered it."""
        self._batch.stage()

    def holds(self, alert_id: str) -> bool:
        """Whether the province holds ``alert_id`` (staged rows of this batch included)."""
        if alert_id in self._staged.held:
            return True
        row = self._db.execute("SELECT 1 FROM held WHERE alert_id = ?", (alert_id,)).fetchone()
        return row is not None

    def recipients(self, alert_id: str) -> tuple[str, ...]:
        """The province's agencies that received some revision of ``alert_id``, sorted."""
        rows = self._db.execute(
            "SELECT agency FROM held_by WHERE alert_id = ?", (alert_id,)
        ).fetchall()
        kept = {str(row[0]) for row in rows}
        return tuple(sorted(kept | self._staged.held_by.get(alert_id, set())))

    def add(
        self,
        alert_id: str,
        alert_kind: str,
        revision: int,
        message_id: str,
        agencies: tuple[str, ...] = (),
    ) -> None:
        """Stage: the province now holds this alert (latest revision kept), received by
        ``agencies`` (added to those of earlier revisions)."""
        staged = self._staged
        known = staged.held.get(alert_id)
        if known is None or revision >= known[0]:
            staged.held[alert_id] = (revision, message_id)
        staged.held_by.setdefault(alert_id, set()).update(agencies)
        staged.writes.append(
            (
                "INSERT INTO held (alert_id, alert_kind, revision, message_id, delivered_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO UPDATE SET "
                "revision = max(revision, excluded.revision), message_id = CASE WHEN "
                "excluded.revision >= revision THEN excluded.message_id ELSE message_id END",
                [(alert_id, alert_kind, revision, message_id, utc_now_ms().isoformat())],
            )
        )
        staged.writes.append(
            (
                "INSERT OR IGNORE INTO held_by (alert_id, agency) VALUES (?, ?)",
                [(alert_id, agency) for agency in agencies],
            )
        )

    # -- need-to-know copies (one per agency; see the module docstring) -------------------

    def revision(self, alert_id: str) -> int | None:
        """The latest revision of ``alert_id`` the local system received, or None."""
        row = self._db.execute("SELECT revision FROM held WHERE alert_id = ?", (alert_id,))
        found = row.fetchone()
        kept = None if found is None else int(found[0])
        staged = self._staged.held.get(alert_id)
        if staged is None:
            return kept
        return staged[0] if kept is None else max(kept, staged[0])

    def add_recipient(self, alert_id: str, agency: str) -> None:
        """Stage: ``agency`` received the alert too (its copy was not delivered again)."""
        staged = self._staged
        staged.held_by.setdefault(alert_id, set()).add(agency)
        staged.released[(alert_id, agency)] = False
        staged.writes.append(
            ("INSERT OR IGNORE INTO held_by (alert_id, agency) VALUES (?, ?)", [(alert_id, agency)])
        )
        staged.writes.append(
            ("DELETE FROM released WHERE alert_id = ? AND agency = ?", [(alert_id, agency)])
        )

    def release(self, alert_id: str, agency: str) -> tuple[str, ...]:
        """Stage: a narrowing dropped ``agency``; the agencies that still hold the alert."""
        staged = self._staged
        staged.released[(alert_id, agency)] = True
        staged.writes.append(
            (
                "INSERT OR IGNORE INTO released (alert_id, agency) VALUES (?, ?)",
                [(alert_id, agency)],
            )
        )
        rows = self._db.execute(
            "SELECT agency FROM released WHERE alert_id = ?", (alert_id,)
        ).fetchall()
        released = {str(row[0]) for row in rows}
        for (alert, who), now in staged.released.items():
            if alert == alert_id:
                (released.add if now else released.discard)(who)
        return tuple(a for a in self.recipients(alert_id) if a not in released)

    def ended(self, alert_id: str) -> bool:
        """Whether the local system already has a status change of ``alert_id``."""
        staged = self._staged.ended.get(alert_id)
        if staged is not None:
            return staged
        row = self._db.execute("SELECT 1 FROM ended WHERE alert_id = ?", (alert_id,))
        return row.fetchone() is not None

    def end(self, alert_id: str, message_id: str) -> None:
        """Stage: the local system now has a status change of ``alert_id``."""
        self._staged.ended[alert_id] = True
        self._staged.writes.append(
            (
                "INSERT OR IGNORE INTO ended (alert_id, message_id) VALUES (?, ?)",
                [(alert_id, message_id)],
            )
        )

    def reopen(self, alert_id: str) -> None:
        """Stage: a newer revision was delivered after a status change (a re-share)."""
        self._staged.ended[alert_id] = False
        self._staged.writes.append(("DELETE FROM ended WHERE alert_id = ?", [(alert_id,)]))

    def commit(self) -> None:
        """Make the staged rows durable (called after the sink's flush): one transaction,
        ``StateBusy`` when another worker held the lock past the busy timeout."""
        writes, self._staged = self._staged.writes, _Staged()
        if not writes:
            self._batch.commit()  # a ``begin`` with nothing staged: release the lock
            return
        self._batch.stage()
        try:
            for sql, rows in writes:
                self._db.executemany(sql, rows)
        except BaseException:
            self._batch.rollback()
            raise
        self._batch.commit()

    def rollback(self) -> None:
        """Forget the staged rows (the sink did not make the batch durable)."""
        self._staged = _Staged()
        self._batch.rollback()

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM held").fetchone()[0])

    def close(self) -> None:
        self.rollback()
        self._db.close()

    def __enter__(self) -> HeldAlerts:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


@dataclass
class _Staged:
    """A batch's writes not yet in the file, and what they change, for this batch's reads."""

    #: The SQL to run at ``commit``, in order, each with its rows.
    writes: list[tuple[str, list[tuple[object, ...]]]] = field(default_factory=list)
    #: alert id -> (highest revision staged, its message id)
    held: dict[str, tuple[int, str]] = field(default_factory=dict)
    held_by: dict[str, set[str]] = field(default_factory=dict)
    #: (alert id, agency) -> released (True) or taken back (False) in this batch
    released: dict[tuple[str, str], bool] = field(default_factory=dict)
    #: alert id -> ended (True) or reopened (False) in this batch
    ended: dict[str, bool] = field(default_factory=dict)
