"""consumers.AlertRegister: how revisions and status changes fold into an alert's state."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consumers.alert_register import AlertRegister, AlertState
from schemas.subjects import subject_key, subject_of

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
XUZHOU, JINING = "320300000000", "370800000000"
ID_NUMBER = "320311198001010019"
ALERT = "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31"


def person_alert(
    revision: int = 1,
    *,
    alert_id: str = ALERT,
    agency: str = XUZHOU,
    id_number: str | None = ID_NUMBER,
    valid_for: timedelta = timedelta(days=30),
) -> dict[str, Any]:
    """The record fields the register reads (the rest of a PersonAlert does not matter)."""
    return {
        "alert_id": alert_id,
        "revision": revision,
        "category": "WANTED",
        "subject": {"name": "张伟", "id_number": id_number},
        "issuing_agency": agency,
        "issued_at": NOW - timedelta(hours=1),
        "valid_until": NOW + valid_for,
        "related_alerts": [],
    }


def status_change(
    status: str = "WITHDRAWN", *, at: datetime = NOW, alert_id: str = ALERT
) -> dict[str, Any]:
    return {
        "alert_id": alert_id,
        "alert_kind": "PERSON",
        "status": status,
        "reason": None,
        "changed_at": at,
        "agency": XUZHOU,
    }


@pytest.fixture
def register() -> AlertRegister:
    return AlertRegister(clock=lambda: NOW)


def test_first_revision_is_a_live_active_alert(register: AlertRegister) -> None:
    """Revision 1 gives a live ACTIVE state keyed by the subject's pseudonym."""
    register.apply("PersonAlert", person_alert(), "hx.alerts.person/2@7")
    state = register.get(ALERT)
    assert state is not None
    assert (1, "ACTIVE", True, subject_key("person", ID_NUMBER), "hx.alerts.person/2@7") == (
        state.revision,
        state.status,
        state.live(NOW),
        state.subject_key,
        state.position,
    )


def test_state_holds_no_name_or_identity_number(register: AlertRegister) -> None:
    """The JSON written to the register topic carries neither the name nor the number."""
    state = register.apply("PersonAlert", person_alert())
    assert state is not None
    text = state.to_json().decode()
    assert (False, False) == (ID_NUMBER in text, "张伟" in text)


def test_higher_revision_wins_and_lower_one_is_ignored(register: AlertRegister) -> None:
    """Revision 3 replaces 1; a late revision 2 changes nothing."""
    register.apply("PersonAlert", person_alert(1))
    register.apply("PersonAlert", person_alert(3, valid_for=timedelta(days=90)))
    late = register.apply("PersonAlert", person_alert(2, valid_for=timedelta(days=5)))
    state = register.get(ALERT)
    assert state is not None
    assert (None, 3, NOW + timedelta(days=90)) == (late, state.revision, state.valid_until)


def test_the_same_message_twice_changes_nothing(register: AlertRegister) -> None:
    """A redelivered revision folds to no change (the register writes nothing)."""
    first = register.apply("PersonAlert", person_alert(), "hx.alerts.person/2@7")
    again = register.apply("PersonAlert", person_alert(), "hx.alerts.person/2@7")
    assert (True, None) == (first is not None, again)


def test_withdrawal_ends_the_alert_for_good(register: AlertRegister) -> None:
    """After WITHDRAWN the alert is not live, and a later revision does not revive it."""
    register.apply("PersonAlert", person_alert(1))
    register.apply("AlertStatusChange", status_change("WITHDRAWN"))
    register.apply("PersonAlert", person_alert(2))
    state = register.get(ALERT)
    assert state is not None
    assert ("WITHDRAWN", 2, False, []) == (
        state.status,
        state.revision,
        state.live(NOW),
        register.find(subject_key("person", ID_NUMBER)),
    )


def test_status_change_without_its_alert_is_kept(register: AlertRegister) -> None:
    """A withdrawal whose alert was never seen (retention) is a revision-0, not-live state."""
    register.apply("AlertStatusChange", status_change("RESOLVED"))
    state = register.get(ALERT)
    assert state is not None
    assert (0, "RESOLVED", XUZHOU, False) == (
        state.revision,
        state.status,
        state.issuing_agency,
        state.live(NOW),
    )


def test_earliest_status_change_wins_in_either_order() -> None:
    """Of RESOLVED then WITHDRAWN, the earlier one stands, whichever arrives first."""
    early = status_change("RESOLVED", at=NOW - timedelta(minutes=5))
    late = status_change("WITHDRAWN", at=NOW)
    outcomes = set()
    for order in ((early, late), (late, early)):
        register = AlertRegister(clock=lambda: NOW)
        for change in order:
            register.apply("AlertStatusChange", change)
        state = register.get(ALERT)
        assert state is not None
        outcomes.add((state.status, state.changed_at))
    assert {("RESOLVED", NOW - timedelta(minutes=5))} == outcomes


def test_fold_does_not_depend_on_order_or_repetition() -> None:
    """Every order of the same messages, each twice, gives the same state (a rebuild from
    a snapshot and an overlapping tail is safe)."""
    messages = [
        ("PersonAlert", person_alert(1)),
        ("PersonAlert", person_alert(2)),
        ("AlertStatusChange", status_change("WITHDRAWN")),
        ("AlertStatusChange", status_change("RESOLVED", at=NOW + timedelta(hours=1))),
    ]
    states = set()
    for order in itertools.permutations(messages):
        register = AlertRegister(clock=lambda: NOW)
        for event_type, record in [*order, *order]:
            register.apply(event_type, record)
        states.add(register.get(ALERT))
    assert 1 == len(states)


def test_lapsed_alert_is_not_live_and_shows_expired() -> None:
    """Past valid_until, an ACTIVE alert is not live and an operator reads EXPIRED."""
    register = AlertRegister(clock=lambda: NOW + timedelta(days=31))
    state = register.apply("PersonAlert", person_alert(valid_for=timedelta(days=30)))
    assert state is not None
    later = NOW + timedelta(days=31)
    assert (False, "EXPIRED", "ACTIVE") == (
        state.live(later),
        state.shown_status(later),
        state.status,
    )


def test_json_form_round_trips(register: AlertRegister) -> None:
    """A state read back from the register topic equals the state written."""
    register.apply("PersonAlert", person_alert(2), "hx.alerts.person/0@1")
    register.apply("AlertStatusChange", status_change())
    state = register.get(ALERT)
    assert state is not None
    assert state == AlertState.from_json(state.to_json())


def test_json_of_another_version_is_refused() -> None:
    """A register entry of an unknown format version is not guessed at."""
    with pytest.raises(ValueError, match="version 1"):
        AlertState.from_json(b'{"v": 2, "alert_id": "x"}')


def test_find_returns_the_live_alerts_on_a_subject(register: AlertRegister) -> None:
    """Two agencies' live alerts on one person are found; a withdrawn one is not."""
    other = "9a1c62a5-2d0f-4a55-9a38-3b1c6e0f4d21"
    gone = "5d3c1b2a-0e9f-4c8d-8b7a-6f5e4d3c2b1a"
    register.apply("PersonAlert", person_alert(alert_id=ALERT))
    register.apply("PersonAlert", person_alert(alert_id=other, agency=JINING))
    register.apply("PersonAlert", person_alert(alert_id=gone))
    register.apply("AlertStatusChange", status_change(alert_id=gone))
    found = register.find(subject_key("person", ID_NUMBER))
    assert {ALERT, other} == {s.alert_id for s in found}


def test_revision_that_corrects_the_subject_moves_the_alert(register: AlertRegister) -> None:
    """A revision with another identity number is found under the new number only."""
    corrected = "320311198001010035"
    register.apply("PersonAlert", person_alert(1))
    register.apply("PersonAlert", person_alert(2, id_number=corrected))
    assert ([], [ALERT]) == (
        register.find(subject_key("person", ID_NUMBER)),
        [s.alert_id for s in register.find(subject_key("person", corrected))],
    )


def test_states_filter_by_live_and_agency(register: AlertRegister) -> None:
    """``states`` lists what the filters let through, oldest issue first."""
    other = "9a1c62a5-2d0f-4a55-9a38-3b1c6e0f4d21"
    register.apply("PersonAlert", person_alert(alert_id=ALERT))
    register.apply("PersonAlert", person_alert(alert_id=other, agency=JINING))
    register.apply("AlertStatusChange", status_change(alert_id=ALERT))
    assert ([other], [ALERT], [ALERT, other]) == (
        [s.alert_id for s in register.states(live=True)],
        [s.alert_id for s in register.states(agency=XUZHOU)],
        sorted(s.alert_id for s in register.states()),
    )


def test_vehicle_subject_is_the_plate_and_person_without_number_has_none() -> None:
    """A plate keys a vehicle (case-insensitive); an unidentified person has no key."""
    vehicle = subject_of("VehicleAlert", {"plate": {"number": "苏C12345", "type": "SMALL"}})
    assert vehicle is not None
    assert (subject_key("vehicle", "苏c12345"), "plate.number", None) == (
        vehicle.key,
        vehicle.path,
        subject_of("PersonAlert", person_alert(id_number=None)),
    )
