"""The drill's ledger: intents and acknowledgements survive a reopen (a killed publisher),
what each copy must reach is read back as written, and the duty desk records a refusal
for good instead of retrying it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hxbus.drill import Copy, Ledger
from hxbus.drill.publisher import DutyDesk
from producers import SyntheticTraffic
from runtime import Settings
from schemas import load_agreement
from schemas.errors import BrokerUnavailable, Issue, ValidationFailed


def _copy(message_id: str, event_type: str, provinces: dict[str, tuple[str, ...]]) -> Copy:
    return Copy(
        message_id, event_type, "hx.alerts.person", 0, 7, f"k:{message_id}", "alert-1", provinces
    )


def test_in_flight_events_are_known_to_the_next_publisher(tmp_path: Path) -> None:
    """Intended 0..2, acknowledged 0: a new Ledger on the file says 1 and 2 are unacked."""
    ledger = Ledger(tmp_path / "ledger.sqlite")
    for seq in range(3):
        ledger.intend(seq, "PersonAlert", 100.0 + seq)
    ledger.acknowledge(
        0, 101.0, [_copy("m0", "PersonAlert", {"SD": ("370800000000",)})], resent=False
    )
    ledger.close()

    reopened = Ledger(tmp_path / "ledger.sqlite")
    actual = (
        reopened.intended() - reopened.acknowledged(),
        reopened.in_flight(),
        reopened.counts(),
    )
    reopened.close()
    assert ({1, 2}, 2, (3, 1)) == actual


def test_copies_and_holders_read_back_what_was_acknowledged(tmp_path: Path) -> None:
    """A copy's expected provinces and agencies, its ack time and resent flag come back;
    the provinces due an alert revision are its holders."""
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.intend(5, "PersonAlert", 10.0)
    provinces = {"SD": ("370800000000",), "AH": ("340600000000", "341300000000")}
    ledger.acknowledge(5, 11.5, [_copy("m5", "PersonAlert", provinces)], resent=True)
    [acked] = list(ledger.copies())
    actual = (acked.seq, acked.acked_at, acked.resent, acked.copy.provinces, ledger.holders())
    ledger.close()
    assert (5, 11.5, True, provinces, {"alert-1": {"SD", "AH"}}) == actual


def test_copies_of_one_delivery_and_refusals_read_back(tmp_path: Path) -> None:
    """Two copies written as one delivery come back under one key (a lone copy under its
    own id); a refused event is no longer in flight and its reason comes back."""
    ledger = Ledger(tmp_path / "ledger.sqlite")
    for seq in (1, 2):
        ledger.intend(seq, "PersonAlert", 10.0)
    pair = [
        Copy("m1", "PersonAlert", "hx.inbox.a", 0, 1, "k1", "alert-1", {"SD": ("a",)}, "m1"),
        Copy("m2", "PersonAlert", "hx.inbox.b", 0, 1, "k2", "alert-1", {"SD": ("a",)}, "m1"),
        Copy("m3", "AlertHit", "hx.inbox.c", 0, 1, "k3", None, {"AH": ("c",)}),
    ]
    ledger.acknowledge(1, 11.0, pair, resent=False)
    ledger.refuse(2, "invalid", 12.0)
    actual = ({a.copy.message_id: a.copy.delivery for a in ledger.copies()},
              ledger.refused(), ledger.in_flight())  # fmt: skip
    ledger.close()
    assert ({"m1": "m1", "m2": "m1", "m3": "m3"}, {2: "invalid"}, 0) == actual


def test_duty_desk_records_a_refusal_for_good_and_retries_only_what_may_pass(
    tmp_path: Path,
) -> None:
    """A validation refusal (not retriable) is written to the ledger as refused and never
    queued again; a broker timeout (retriable) is queued to be sent again."""
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.set_meta({"seed": "1", "start": "2026-12-01T08:00:00+00:00", "spacing_ms": "10"})
    desk = DutyDesk(Settings(), load_agreement(), ledger, rate=10.0)
    event = next(
        iter(SyntheticTraffic(load_agreement(), seed=1, start=datetime(2026, 12, 1, tzinfo=UTC)))
    )
    for seq in (1, 2):
        ledger.intend(seq, event.event_type, 1.0)
    desk._not_taken(1, event, ValidationFailed([Issue("alert_id", "is not known")]))
    desk._not_taken(2, event, BrokerUnavailable("delivery timed out"))
    actual = (ledger.refused(), [seq for seq, _ in desk._retry], ledger.in_flight())
    ledger.close()
    assert ({1: "invalid"}, [2], 1) == actual
