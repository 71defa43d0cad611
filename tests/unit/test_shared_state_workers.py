"""Two workers of one bridge group on the same state files (``--workers N``): the held
alerts are read under the writer's lock, and a lock held too long is a retriable error."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bridge import HeldAlerts
from runtime.state_db import StagedWrites, open_state_db
from schemas.errors import StateBusy

ALERT = "7f0c9d6e-4f1a-4c55-9a43-0d2b8e1f5a01"


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
