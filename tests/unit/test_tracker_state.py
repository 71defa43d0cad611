"""The request tracker's state machine, its store and its second notice, without a broker."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tracker_support import confirmation, copy_for, delivery, hit, request, response

from consumers.tracker import (
    SECOND_NOTICE_MARK,
    ItemState,
    NoticeState,
    RequestTracker,
    TrackedItem,
    TrackerStore,
    answer_of,
    expectation_of,
    second_notice,
    second_notice_id,
)
from producers import MessageBuilder
from schemas import Agreement, ExchangeEvent

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def item(**changes: object) -> TrackedItem:
    base = TrackedItem(
        kind="request",
        item_id="59dc3e2b-ce4d-471f-a02e-529492fe108c",
        target="370800000000",
        requester="320300000000",
        priority="IMMEDIATE",
        issued_at=T0,
        ack_by=T0 + timedelta(minutes=10),
        respond_by=T0 + timedelta(hours=2),
        message_id="5bf247a9-f5e6-4809-b53d-64e262833e80",
    )
    return replace(base, **changes)


# -- states ------------------------------------------------------------------------------------


def test_unanswered_item_is_open_until_ack_by_then_overdue() -> None:
    """No acknowledgement: open up to ack_by, overdue right after it."""
    due = item()
    assert (ItemState.OPEN, ItemState.OPEN, ItemState.OVERDUE) == (
        due.state(T0),
        due.state(due.ack_by),
        due.state(due.ack_by + SECOND),
    )


def test_acknowledged_item_is_overdue_only_after_respond_by() -> None:
    """Acknowledged in time: acknowledged until respond_by, overdue after it."""
    acked = item(acknowledged_at=T0 + timedelta(minutes=5))
    assert (ItemState.ACKNOWLEDGED, ItemState.OVERDUE) == (
        acked.state(acked.ack_by + SECOND),
        acked.state(acked.respond_by + SECOND),
    )


def test_answered_item_is_never_overdue_and_says_when_it_was_late() -> None:
    """An answer ends the item; one after respond_by is answered, and marked late."""
    on_time = item(acknowledged_at=T0, answered_at=T0 + timedelta(hours=1))
    late = item(acknowledged_at=T0, answered_at=T0 + timedelta(hours=3))
    far = T0 + timedelta(days=2)
    assert (ItemState.ANSWERED, False, ItemState.ANSWERED, True) == (
        on_time.state(far),
        on_time.answered_late,
        late.state(far),
        late.answered_late,
    )


def test_notice_is_due_once_overdue_and_not_after_it_was_sent() -> None:
    """A second notice is due for an overdue item whose notice is neither claimed nor sent."""
    after = T0 + timedelta(minutes=11)
    assert (False, True, False, False) == (
        item().notice_due(T0),
        item().notice_due(after),
        item(notice=NoticeState.SENDING).notice_due(after),
        item(notice=NoticeState.SENT).notice_due(after),
    )


# -- what messages mean ----------------------------------------------------------------------


def test_immediate_hit_is_due_within_the_agreements_immediate_deadline(
    agreement: Agreement,
) -> None:
    """A hit asking confirmation is owed by its issuer within [deadlines] of its priority."""
    event = hit(agreement, T0, priority="IMMEDIATE")
    expected = expectation_of(
        "AlertHit",
        event.record,
        target=event.envelope.target,
        issued_at=T0,
        agreement=agreement,
    )
    deadline = T0 + timedelta(seconds=agreement.deadline_seconds("IMMEDIATE"))
    assert expected is not None
    assert ("hit", "370800000000", "340600000000", deadline, deadline) == (
        expected.kind,
        expected.target,
        expected.requester,
        expected.ack_by,
        expected.respond_by,
    )


def test_hit_without_confirmation_request_is_not_tracked(agreement: Agreement) -> None:
    """confirmation_requested false: nothing is owed."""
    event = hit(agreement, T0, confirmation_requested=False)
    assert None is expectation_of(
        "AlertHit", event.record, target="370800000000", issued_at=T0, agreement=agreement
    )


def test_unknown_priority_reads_as_routine(agreement: Agreement) -> None:
    """A priority symbol this version does not know (UNKNOWN) gets the ROUTINE deadline."""
    record = {**hit(agreement, T0).record, "priority": "UNKNOWN"}
    expected = expectation_of(
        "AlertHit", record, target="370800000000", issued_at=T0, agreement=agreement
    )
    assert expected is not None
    assert T0 + timedelta(seconds=agreement.deadline_seconds("ROUTINE")) == expected.ack_by


@pytest.mark.parametrize(
    ("status", "answers"),
    [
        ("ACKNOWLEDGED", False),
        ("ACCEPTED", False),
        ("IN_PROGRESS", False),
        ("OTHER", False),
        ("DECLINED", True),
        ("INFORMATION_PROVIDED", True),
        ("COMPLETED", True),
    ],
)
def test_response_status_acknowledges_or_answers(
    agreement: Agreement, status: str, answers: bool
) -> None:
    """Each AssistanceResponse status either acknowledges or answers the request."""
    asked = request(agreement, T0, ack_in=timedelta(minutes=10), respond_in=timedelta(hours=2))
    answered = response(agreement, asked, "370800000000", "ACKNOWLEDGED", T0)
    record = {**answered.record, "status": status}
    result = answer_of("AssistanceResponse", record)
    assert result is not None
    assert answers == result.answered


# -- the store through the handler -----------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> TrackerStore:
    return TrackerStore.for_group(tmp_path, "hx.tracker")


def handle(tracker: RequestTracker, *events: ExchangeEvent) -> None:
    for offset, event in enumerate(events):
        tracker.handle(delivery(event, offset))
    tracker.flush()


def states(store: TrackerStore, now: datetime) -> dict[tuple[str, str], str]:
    return {(i.kind, i.target): i.state(now).value for i in store.items()}


def test_request_to_two_targets_is_two_items_answered_separately(
    agreement: Agreement, store: TrackerStore
) -> None:
    """One target acknowledges and answers, the other stays silent: only it is overdue."""
    asked = request(
        agreement,
        T0,
        ack_in=timedelta(minutes=10),
        respond_in=timedelta(hours=1),
        targets=("370800000000", "340600000000"),
    )
    tracker = RequestTracker(store, agreement)
    handle(
        tracker,
        copy_for(asked, "370800000000"),
        copy_for(asked, "340600000000"),
        response(agreement, asked, "370800000000", "ACKNOWLEDGED", T0 + timedelta(minutes=2)),
        response(agreement, asked, "370800000000", "COMPLETED", T0 + timedelta(minutes=30)),
    )
    assert {
        ("request", "370800000000"): "answered",
        ("request", "340600000000"): "overdue",
    } == states(store, T0 + timedelta(minutes=11))


def test_answer_arriving_before_its_hit_still_counts(
    agreement: Agreement, store: TrackerStore
) -> None:
    """Answers travel in another inbox and may come first; the hit then finds it answered."""
    seen = hit(agreement, T0)
    tracker = RequestTracker(store, agreement)
    handle(tracker, confirmation(agreement, seen, T0 + timedelta(minutes=3)))
    handle(tracker, seen)
    assert {("hit", "370800000000"): "answered"} == states(store, T0 + timedelta(days=1))


def test_redelivered_messages_change_nothing(agreement: Agreement, store: TrackerStore) -> None:
    """Handling the same request and acknowledgement twice leaves the item as once."""
    asked = copy_for(
        request(agreement, T0, ack_in=timedelta(minutes=10), respond_in=timedelta(hours=1)),
        "370800000000",
    )
    ack = response(agreement, asked, "370800000000", "ACKNOWLEDGED", T0 + timedelta(minutes=1))
    tracker = RequestTracker(store, agreement)
    handle(tracker, asked, ack)
    first = list(store.items())
    handle(tracker, asked, ack)
    assert first == list(store.items())


def test_second_notice_in_the_inbox_marks_the_item_sent(
    agreement: Agreement, store: TrackerStore
) -> None:
    """A store rebuilt from the topics recognises a second notice by its causation id."""
    seen = hit(agreement, T0)
    notice = second_notice(seen, "370800000000", T0 + timedelta(minutes=10))
    tracker = RequestTracker(store, agreement)
    handle(tracker, seen, notice)
    (tracked,) = store.items()
    assert (NoticeState.SENT, seen.envelope.message_id) == (tracked.notice, tracked.message_id)


def test_only_one_of_two_trackers_claims_a_notice(agreement: Agreement, tmp_path: Path) -> None:
    """Two trackers sharing the store: the claim of the second fails; a stale claim is free."""
    first = TrackerStore.for_group(tmp_path, "hx.tracker")
    second = TrackerStore.for_group(tmp_path, "hx.tracker")
    handle(RequestTracker(first, agreement), hit(agreement, T0))
    now = T0 + timedelta(minutes=11)
    (due, _original), *_ = first.due_notices(now)
    claims = (first.claim(due, now), second.claim(due, now))
    much_later = now + timedelta(hours=1)
    assert ((True, False), 1, True) == (
        claims,
        len(second.due_notices(much_later)),
        second.claim(due, much_later),
    )


# -- the second notice itself ----------------------------------------------------------------


def test_second_notice_of_a_request_is_the_same_request_marked_and_routed_to_one_target(
    agreement: Agreement,
) -> None:
    """Same request_id and deadlines, marked text and causation, to the silent target only."""
    asked = request(
        agreement,
        T0,
        ack_in=timedelta(minutes=10),
        respond_in=timedelta(hours=1),
        targets=("370800000000", "340600000000"),
    )
    original = copy_for(asked, "340600000000")
    missed = T0 + timedelta(minutes=10)
    notice = second_notice(original, "340600000000", missed)
    _checked, messages = MessageBuilder(agreement).build(notice)  # the contract's own checks
    (message,) = messages
    unchanged = {k: v for k, v in notice.record.items() if k != "description"}
    assert (
        "hx.inbox.340600000000",
        original.envelope.message_id,
        {k: v for k, v in original.record.items() if k != "description"},
        True,
        original.envelope.created_at,
    ) == (
        message.topic,
        notice.envelope.causation_id,
        unchanged,
        notice.record["description"].startswith(f"{SECOND_NOTICE_MARK}: "),
        notice.envelope.created_at,
    )


def test_second_notice_of_a_hit_has_a_derived_id_and_passes_the_contract(
    agreement: Agreement,
) -> None:
    """The same hit again, with a message id derived from the original's (so receivers
    de-duplicate a repeated send), valid for the Publisher."""
    seen = hit(agreement, T0)
    notice = second_notice(seen, "370800000000", T0 + timedelta(minutes=10))
    _checked, (message, _senders_copy) = MessageBuilder(agreement).build(notice)
    again = second_notice(seen, "370800000000", T0 + timedelta(minutes=10))
    assert (
        second_notice_id(seen.envelope.message_id),
        "hx.inbox.370800000000",
        seen.record["hit_id"],
        again.envelope.message_id,
    ) == (message.message_id, message.topic, notice.record["hit_id"], notice.envelope.message_id)
