"""The dedupe store: a persistent set of handled message ids per consumer group."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from consumers import DedupeStore, store_path


def test_marked_ids_are_seen_and_others_not(tmp_path: Path) -> None:
    """seen() returns exactly the ids that were marked handled."""
    with DedupeStore(tmp_path / "g.sqlite") as store:
        store.mark(["a", "b"])
        assert {"a", "b"} == store.seen(["a", "b", "c"])


def test_marks_survive_closing_and_reopening(tmp_path: Path) -> None:
    """A store reopened after a restart still knows what was handled before."""
    path = tmp_path / "g.sqlite"
    with DedupeStore(path) as store:
        store.mark(["m1", "m2", "m3"])
    with DedupeStore(path) as reopened:
        assert {"m1", "m3"} == reopened.seen(["m1", "m3", "m4"])


def test_marking_twice_keeps_one_entry(tmp_path: Path) -> None:
    """Marking an id again (a redelivered batch) does not fail and keeps one row."""
    with DedupeStore(tmp_path / "g.sqlite") as store:
        store.mark(["x", "y"])
        store.mark(["x"])
        assert 2 == len(store)


def test_seen_handles_more_ids_than_one_statement_takes(tmp_path: Path) -> None:
    """A batch larger than the query chunk is looked up completely."""
    ids = [f"id-{n:05d}" for n in range(2_345)]
    with DedupeStore(tmp_path / "g.sqlite") as store:
        store.mark(ids[::2])
        assert set(ids[::2]) == store.seen(ids)


def test_prune_forgets_only_ids_older_than_retention(tmp_path: Path) -> None:
    """Ids handled before now - retention are dropped, younger ones stay."""
    now = [1_000_000.0]
    path = tmp_path / "g.sqlite"
    store = DedupeStore(path, retention=timedelta(hours=1), clock=lambda: now[0])
    store.mark(["old"])
    now[0] += 1800
    store.mark(["young"])
    now[0] += 1801  # "old" is 3601 s old, "young" 1801 s
    dropped = store.prune()
    assert (1, {"young"}) == (dropped, store.seen(["old", "young"]))
    store.close()


def test_store_runs_in_wal_mode(tmp_path: Path) -> None:
    """The file is in WAL mode, so readers of other workers do not block the writer."""
    path = tmp_path / "g.sqlite"
    DedupeStore(path).close()
    with sqlite3.connect(path) as db:
        assert "wal" == db.execute("PRAGMA journal_mode").fetchone()[0]


def test_two_workers_of_a_group_share_one_file(tmp_path: Path) -> None:
    """What one worker's store marked, a second store on the same file sees at once."""
    path = store_path(tmp_path, "bridge-js")
    first, second = DedupeStore(path), DedupeStore(path)
    first.mark(["shared"])
    assert {"shared"} == second.seen(["shared"])
    first.close()
    second.close()


def test_store_path_is_one_safe_file_per_group(tmp_path: Path) -> None:
    """The group name becomes a file name under state_dir/dedupe, with odd characters made safe."""
    assert tmp_path / "dedupe" / "bridge_js_.._x.sqlite" == store_path(tmp_path, "bridge/js/../x")
