"""Two workers of one bridge group on the same state files (``--workers N``): the held
alerts and authority facts are staged in memory and written in one short transaction, a
need-to-know copy is read under the writer's lock, and a lock held too long is a retriable
error."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bridge import HeldAlerts
from consumers import SqliteFacts
from runtime.state_db import StagedWrites, open_state_db
from schemas.authority import AlertFacts, HitFacts, Lesson
from schemas.errors import StateBusy

ALERT = "7f0c9d6e-4f1a-4c55-9a43-0d2b8e1f5a01"
OTHER = "0b6f1f3e-2a7d-4a51-8e0c-5c1d9f2b7a42"


def test_a_second_worker_sees_the_alert_the_first_delivered_in_its_batch(tmp_path: Path) -> None:
    """Worker B, reading under ``begin`` while worker A's batch holds the alert staged,
    waits for A's commit and then sees the revision A delivered (so B does not deliver
    another agency's copy of it again)."""
    path = tmp_path / "held.sqlite"
    first, second = HeldAlerts(path), HeldAlerts(path)
    first.begin()
    first.add(ALERT, "PERSON", 1, "m-1", ("320300000000",))
    seen: list[int | None] = []

    def other_worker() -> None:
        second.begin()
        seen.append(second.revision(ALERT))
        second.commit()

    reader = threading.Thread(target=other_worker)
    reader.start()
    reader.join(timeout=0.5)
    waited = reader.is_alive()
    first.commit()
    reader.join(timeout=10)
    first.close()
    second.close()
    assert (True, [1]) == (waited, seen)


def test_a_lock_held_past_the_busy_timeout_is_retriable(tmp_path: Path) -> None:
    """Another worker holding the state file's lock past the busy timeout: ``StateBusy``,
    which the consumer loop retries (never a dead letter)."""
    path = tmp_path / "state.sqlite"
    holder = StagedWrites(open_state_db(path, autocommit=True))
    holder.stage()
    waiter = StagedWrites(open_state_db(path, busy_timeout_s=0.05, autocommit=True))
    with pytest.raises(StateBusy) as raised:
        waiter.stage()
    holder.rollback()
    assert (True, "state_busy") == (raised.value.retriable, raised.value.reason)


def test_staged_alerts_hold_no_lock_until_the_batch_commits(tmp_path: Path) -> None:
    """A batch's staged held alerts are read by that batch, while another worker commits
    its own batch meanwhile (no lock held during the batch) and sees them only after the
    first commits."""
    path = tmp_path / "held.sqlite"
    first, second = HeldAlerts(path), HeldAlerts(path)
    first.add(ALERT, "PERSON", 2, "m-2", ("320300000000",))
    second.add(OTHER, "VEHICLE", 1, "m-9", ("320700000000",))
    second.commit()  # would wait for the busy timeout if ``add`` held the lock
    before = (first.revision(ALERT), second.holds(ALERT), first.recipients(ALERT))
    first.commit()
    after = (second.revision(ALERT), second.recipients(ALERT), first.holds(OTHER))
    first.close()
    second.close()
    assert ((2, False, ("320300000000",)), (2, ("320300000000",), True)) == (before, after)


def test_rolled_back_alerts_are_forgotten(tmp_path: Path) -> None:
    """``rollback`` forgets the staged rows: neither this batch's reads nor the file have
    them."""
    with HeldAlerts(tmp_path / "held.sqlite") as held:
        held.add(ALERT, "PERSON", 1, "m-1", ("320300000000",))
        held.end(ALERT, "m-3")
        held.rollback()
        assert (False, None, False, 0) == (
            held.holds(ALERT),
            held.revision(ALERT),
            held.ended(ALERT),
            held.count(),
        )


def test_a_release_counts_staged_recipients_and_releases(tmp_path: Path) -> None:
    """``release`` answers the agencies still holding the alert, staged rows included."""
    with HeldAlerts(tmp_path / "held.sqlite") as held:
        held.add(ALERT, "PERSON", 1, "m-1", ("320300000000", "320700000000"))
        held.commit()
        held.add_recipient(ALERT, "321300000000")
        first = held.release(ALERT, "320300000000")
        held.add_recipient(ALERT, "320300000000")  # shared with it again
        second = held.release(ALERT, "320700000000")
        held.commit()
        assert (
            ("320700000000", "321300000000"),
            ("320300000000", "321300000000"),
            ("320300000000", "321300000000"),
        ) == (first, second, held.release(ALERT, "320700000000"))


def test_facts_staged_by_one_worker_do_not_block_another(tmp_path: Path) -> None:
    """Authority facts noted in a batch are seen by that batch, written at ``commit``; a
    second worker commits its facts meanwhile and sees the first's after its commit."""
    path = tmp_path / "facts.sqlite"
    first, second = SqliteFacts(path), SqliteFacts(path)
    facts = AlertFacts("320300000000", "PERSON", 1, "SHARE_ALL_PARTNERS", frozenset())
    first.note(Lesson(alert=(ALERT, facts)))
    second.note(Lesson(hit=("hit-1", HitFacts("370800000000", OTHER))))
    second.commit()
    before = (first.alert(ALERT), second.alert(ALERT))
    first.commit()
    after = (second.alert(ALERT), first.hit("hit-1"))
    first.close()
    second.close()
    assert ((facts, None), (facts, HitFacts("370800000000", OTHER))) == (before, after)
