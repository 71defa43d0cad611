"""What a receiver remembers for the authority rules: alerts, hits, requests it accepted.

``schemas.authority`` decides; this module remembers. Each role keeps the facts of every
message that passed (``note``, staged) and makes them durable when the runtime's batch is
(``commit``, after the handler's flush; ``rollback`` when that flush failed). A fact is
only ever learnt from an accepted message, so a forged one changes nothing here.

- ``FactStore``: the protocol the runtime's ``AuthorityGate`` writes to and reads from.
- ``SqliteFacts``: durable, one SQLite file per consumer group under the state directory
  (the bridge and the tracker; ``authority_path``): a receiver restarted months later
  still knows who issued an alert. Staged rows are visible to later messages of the same
  batch (same connection).
- ``MemoryFacts``: the same in a dict (tests; a process that rebuilds its state anyway).

Facts merge as ``AlertFacts.merged`` says: the issuer and kind of the alert as first
known stay, the highest revision's handling wins, ``share_with`` is the union; a request's
targets are the union of its copies; a hit's first sighting stays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from runtime.state_db import StagedWrites, group_file, open_state_db
from schemas.authority_facts import AlertFacts, Facts, HitFacts, Lesson, NoFacts, RequestFacts

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY,
    issuer TEXT NOT NULL,
    kind TEXT NOT NULL,
    revision INTEGER NOT NULL,
    handling TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alert_share (
    alert_id TEXT NOT NULL,
    agency TEXT NOT NULL,
    PRIMARY KEY (alert_id, agency)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hits (
    hit_id TEXT PRIMARY KEY,
    reporter TEXT NOT NULL,
    alert_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY,
    requester TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS request_targets (
    request_id TEXT NOT NULL,
    agency TEXT NOT NULL,
    PRIMARY KEY (request_id, agency)
) WITHOUT ROWID;
"""


class FactStore(Facts, Protocol):
    """Facts a receiver keeps: read, stage what an accepted message teaches, keep or drop."""

    def note(self, lesson: Lesson) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...


def authority_path(state_dir: Path, group: str) -> Path:
    """Where the authority facts of consumer group ``group`` live under ``state_dir``."""
    return group_file(state_dir, "authority", group)


class NullFacts(NoFacts):
    """Knows and keeps nothing: for a role whose handler keeps the facts itself (the alert
    register folds every accepted alert into its ``AlertRegister``)."""

    def note(self, lesson: Lesson) -> None:
        return None

    def commit(self) -> None:
        return None

    def rollback(self) -> None:
        return None

    def close(self) -> None:
        return None


class MemoryFacts:
    """Facts in memory; ``rollback`` forgets what was noted since the last ``commit``."""

    def __init__(self) -> None:
        self._alerts: dict[str, AlertFacts] = {}
        self._hits: dict[str, HitFacts] = {}
        self._requests: dict[str, RequestFacts] = {}
        self._kept: tuple[dict[str, AlertFacts], dict[str, HitFacts], dict[str, RequestFacts]]
        self.commit()

    def alert(self, alert_id: str) -> AlertFacts | None:
        return self._alerts.get(alert_id)

    def hit(self, hit_id: str) -> HitFacts | None:
        return self._hits.get(hit_id)

    def request(self, request_id: str) -> RequestFacts | None:
        return self._requests.get(request_id)

    def note(self, lesson: Lesson) -> None:
        if lesson.alert is not None:
            alert_id, facts = lesson.alert
            old = self._alerts.get(alert_id)
            self._alerts[alert_id] = facts if old is None else old.merged(facts)
        if lesson.hit is not None:
            hit_id, hit = lesson.hit
            self._hits.setdefault(hit_id, hit)
        if lesson.request is not None:
            request_id, request = lesson.request
            known = self._requests.get(request_id)
            if known is not None:
                request = RequestFacts(known.requester, known.targets | request.targets)
            self._requests[request_id] = request

    def commit(self) -> None:
        self._kept = (dict(self._alerts), dict(self._hits), dict(self._requests))

    def rollback(self) -> None:
        alerts, hits, requests = self._kept
        self._alerts, self._hits, self._requests = dict(alerts), dict(hits), dict(requests)

    def close(self) -> None:
        return None


class SqliteFacts:
    """Facts in a SQLite file; ``note`` stages in memory, ``commit`` writes the batch's
    facts in one short transaction.

    Several workers of a group share the file (``hxbus bridge run --workers``). Were the
    batch's rows written as they are noted, the writer's lock would be held from the first
    accepted message to the end of the batch's flush (sink sync, audit acknowledgement),
    and the workers would take turns instead of running side by side. Staged facts are
    seen by this worker's later messages (``MemoryFacts`` beside the file) and by the
    others once committed, as before.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        # autocommit: ``commit`` opens and ends the batch's transaction itself.
        self._db = open_state_db(path, busy_timeout_s=10.0, autocommit=True)
        self._db.executescript(_SCHEMA)
        self._batch = StagedWrites(self._db)
        self._staged = MemoryFacts()
        self._lessons: list[Lesson] = []

    def alert(self, alert_id: str) -> AlertFacts | None:
        kept, staged = self._kept_alert(alert_id), self._staged.alert(alert_id)
        if kept is None or staged is None:
            return kept or staged
        return kept.merged(staged)

    def _kept_alert(self, alert_id: str) -> AlertFacts | None:
        row = self._db.execute(
            "SELECT issuer, kind, revision, handling FROM alerts WHERE alert_id = ?", (alert_id,)
        ).fetchone()
        if row is None:
            return None
        shared = self._db.execute(
            "SELECT agency FROM alert_share WHERE alert_id = ?", (alert_id,)
        ).fetchall()
        return AlertFacts(
            issuer=str(row[0]),
            kind=str(row[1]),
            revision=int(row[2]),
            handling=None if row[3] is None else str(row[3]),
            share_with=frozenset(str(r[0]) for r in shared),
        )

    def hit(self, hit_id: str) -> HitFacts | None:
        row = self._db.execute(
            "SELECT reporter, alert_id FROM hits WHERE hit_id = ?", (hit_id,)
        ).fetchone()
        return self._staged.hit(hit_id) if row is None else HitFacts(str(row[0]), str(row[1]))

    def request(self, request_id: str) -> RequestFacts | None:
        staged = self._staged.request(request_id)
        row = self._db.execute(
            "SELECT requester FROM requests WHERE request_id = ?", (request_id,)
        ).fetchone()
        if row is None:
            return staged
        targets = self._db.execute(
            "SELECT agency FROM request_targets WHERE request_id = ?", (request_id,)
        ).fetchall()
        kept = frozenset(str(r[0]) for r in targets)
        return RequestFacts(str(row[0]), kept | (staged.targets if staged else frozenset()))

    def note(self, lesson: Lesson) -> None:
        self._staged.note(lesson)
        self._lessons.append(lesson)

    def commit(self) -> None:
        """Write the batch's facts in one transaction (``StateBusy`` when another worker
        held the lock past the busy timeout: the batch is not committed and comes again)."""
        lessons, self._lessons = self._lessons, []
        self._staged = MemoryFacts()
        if not lessons:
            return
        self._batch.stage()
        try:
            for lesson in lessons:
                self._write(lesson)
        except BaseException:
            self._batch.rollback()
            raise
        self._batch.commit()

    def _write(self, lesson: Lesson) -> None:
        if lesson.alert is not None:
            alert_id, facts = lesson.alert
            self._db.execute(
                "INSERT INTO alerts (alert_id, issuer, kind, revision, handling) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO UPDATE SET "
                "handling = CASE WHEN excluded.revision >= revision "
                "AND excluded.handling IS NOT NULL THEN excluded.handling ELSE handling END, "
                "revision = max(revision, excluded.revision)",
                (alert_id, facts.issuer, facts.kind, facts.revision, facts.handling),
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO alert_share (alert_id, agency) VALUES (?, ?)",
                [(alert_id, agency) for agency in sorted(facts.share_with)],
            )
        if lesson.hit is not None:
            hit_id, hit = lesson.hit
            self._db.execute(
                "INSERT OR IGNORE INTO hits (hit_id, reporter, alert_id) VALUES (?, ?, ?)",
                (hit_id, hit.reporter, hit.alert_id),
            )
        if lesson.request is not None:
            request_id, request = lesson.request
            self._db.execute(
                "INSERT OR IGNORE INTO requests (request_id, requester) VALUES (?, ?)",
                (request_id, request.requester),
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO request_targets (request_id, agency) VALUES (?, ?)",
                [(request_id, agency) for agency in sorted(request.targets)],
            )

    def rollback(self) -> None:
        self._lessons = []
        self._staged = MemoryFacts()

    def close(self) -> None:
        self.rollback()
        self._db.close()
