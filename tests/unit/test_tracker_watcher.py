"""The deadline watcher: one second notice per overdue item, the overdue gauge, restarts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from tracker_support import confirmation, delivery, hit

from consumers.tracker import DeadlineWatcher, RequestTracker, TrackerStore
from schemas import Agreement, ExchangeEvent
from schemas.errors import BrokerUnavailable, HxError

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
TARGET = "370800000000"


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Outbox:
    """A NoticeSender that keeps what it was given; fails while ``failures`` lasts."""

    sent: list[ExchangeEvent] = field(default_factory=list)
    failures: int = 0

    def send(self, event: ExchangeEvent) -> None:
        if self.failures:
            self.failures -= 1
            raise BrokerUnavailable("test broker away")
        self.sent.append(event)


class Refusing:
    def send(self, event: ExchangeEvent) -> None:
        raise HxError("refused")


@pytest.fixture
def clock() -> Clock:
    return Clock()


def track(agreement: Agreement, tmp_path: Path, *events: ExchangeEvent) -> None:
    with TrackerStore.for_group(tmp_path, "hx.tracker") as store:
        tracker = RequestTracker(store, agreement)
        for offset, event in enumerate(events):
            tracker.handle(delivery(event, offset))
        tracker.flush()


def watcher(
    agreement: Agreement, tmp_path: Path, sender: object, clock: Clock, **options: object
) -> DeadlineWatcher:
    store = TrackerStore.for_group(tmp_path, "hx.tracker")
    return DeadlineWatcher(store, sender, agreement, clock=clock, **options)  # type: ignore[arg-type]


def overdue(priority: str = "IMMEDIATE", target: str = TARGET) -> float:
    value = REGISTRY.get_sample_value(
        "hx_requests_overdue", {"kind": "hit", "priority": priority, "target_agency": target}
    )
    return value or 0.0


def test_overdue_hit_gets_exactly_one_second_notice_also_after_a_restart(
    agreement: Agreement, tmp_path: Path, clock: Clock
) -> None:
    """Three sweeps past the deadline and a new watcher on the same store: one notice."""
    seen = hit(agreement, T0, priority="IMMEDIATE")
    track(agreement, tmp_path, seen)
    outbox = Outbox()
    first = watcher(agreement, tmp_path, outbox, clock)
    before_deadline = first.sweep()
    clock.now = T0 + timedelta(seconds=agreement.deadline_seconds("IMMEDIATE") + 1)
    sweeps = [first.sweep(), first.sweep()]
    restarted = watcher(agreement, tmp_path, outbox, clock)
    sweeps.append(restarted.sweep())
    (notice,) = outbox.sent
    assert (0, [1, 0, 0], seen.record["hit_id"], seen.envelope.message_id) == (
        before_deadline,
        sweeps,
        notice.record["hit_id"],
        notice.envelope.causation_id,
    )


def test_overdue_gauge_counts_items_past_deadline_and_drops_them_when_answered(
    agreement: Agreement, tmp_path: Path, clock: Clock
) -> None:
    """hx_requests_overdue{kind,priority,target_agency} rises past the deadline, falls on answer."""
    seen = hit(agreement, T0, priority="URGENT", issuer="411400000000")
    track(agreement, tmp_path, seen)
    watch = watcher(agreement, tmp_path, Outbox(), clock)
    clock.now = T0 + timedelta(seconds=agreement.deadline_seconds("URGENT") + 1)
    watch.sweep()
    late = overdue("URGENT", "411400000000")
    track(agreement, tmp_path, confirmation(agreement, seen, clock.now))
    watch.sweep()
    assert (1.0, 0.0) == (late, overdue("URGENT", "411400000000"))


def test_failed_send_is_released_and_sent_at_the_next_sweep(
    agreement: Agreement, tmp_path: Path, clock: Clock
) -> None:
    """The broker away: no notice is marked sent; the next sweep sends it, once."""
    track(agreement, tmp_path, hit(agreement, T0))
    outbox = Outbox(failures=1)
    watch = watcher(agreement, tmp_path, outbox, clock)
    clock.now = T0 + timedelta(hours=1)
    assert ([0, 1, 0], 1) == ([watch.sweep(), watch.sweep(), watch.sweep()], len(outbox.sent))


def test_refused_notice_is_not_tried_again(
    agreement: Agreement, tmp_path: Path, clock: Clock
) -> None:
    """A notice refused before sending (not retriable) is logged and left."""
    track(agreement, tmp_path, hit(agreement, T0))
    watch = watcher(agreement, tmp_path, Refusing(), clock)
    clock.now = T0 + timedelta(hours=1)
    with TrackerStore.for_group(tmp_path, "hx.tracker") as store:
        assert ([0, 0], []) == ([watch.sweep(), watch.sweep()], store.due_notices(clock.now))


def test_no_notice_while_the_consumer_is_catching_up(
    agreement: Agreement, tmp_path: Path, clock: Clock
) -> None:
    """Notices wait until ``ready`` says the backlog is read (the answer may be in it)."""
    track(agreement, tmp_path, hit(agreement, T0))
    outbox = Outbox()
    caught_up = False
    watch = watcher(agreement, tmp_path, outbox, clock, ready=lambda: caught_up)
    clock.now = T0 + timedelta(hours=1)
    waiting = watch.sweep()
    caught_up = True
    assert (0, 1) == (waiting, watch.sweep())
