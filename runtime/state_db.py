"""The SQLite files a role keeps under its state directory, opened one way.

The dedupe store, the request tracker's store and a bridge's held alerts are each one
file per consumer group, written by the worker that holds the group's partitions and read
beside it (``hxbus requests``, a second worker on the host). So each is opened the same
way, for the same reasons:

- WAL: readers run beside the one writer;
- ``synchronous=NORMAL``: a commit survives a crash of the process (kill -9), the WAL being
  in the operating system's cache; after a power loss the last few commits may roll back,
  which leaves the file consistent and only means a batch comes again, to an idempotent
  sink. FULL would add an fsync to every batch for a protection the first line gives;
- a busy timeout: a writer waits for another rather than fail;
- ``check_same_thread=False``: a runtime is built on one thread and run on another, but
  used by one at a time.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from schemas.errors import StateBusy


def open_state_db(
    path: Path, *, busy_timeout_s: float = 30.0, autocommit: bool = False
) -> sqlite3.Connection:
    """Open (creating its folder and file) the state file at ``path``; see the module doc.

    ``autocommit``: the caller opens and ends its transactions itself (``BEGIN``/``COMMIT``)
    instead of the sqlite3 module's implicit ones.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(
        path,
        timeout=busy_timeout_s,
        check_same_thread=False,
        isolation_level=None if autocommit else "DEFERRED",  # the module's implicit BEGIN
    )
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def group_file(state_dir: Path, folder: str, group: str, suffix: str = ".sqlite") -> Path:
    """The state file of consumer group ``group`` in ``state_dir/folder``: the group's name
    with every character outside ``A-Za-z0-9._-`` made ``_`` (a group name is free text)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", group)
    return state_dir / folder / f"{safe}{suffix}"


class StagedWrites:
    """One batch's writes to a state file opened with ``autocommit=True``: ``stage`` opens
    the transaction before the first write (``BEGIN IMMEDIATE``: the writer's lock now, not
    at the first write), ``commit`` keeps the batch's rows once the batch is durable,
    ``rollback`` forgets them. Either ends nothing when nothing was staged."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._open = False

    def stage(self) -> None:
        """Open the batch's transaction (the writer's lock) if not yet; ``StateBusy`` when
        another worker of the group held the lock past the busy timeout."""
        if not self._open:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:  # "database is locked"
                raise StateBusy(f"state file busy: {exc}") from exc
            self._open = True

    def commit(self) -> None:
        if self._open:
            self._db.execute("COMMIT")
            self._open = False

    def rollback(self) -> None:
        if self._open:
            self._db.execute("ROLLBACK")
            self._open = False
