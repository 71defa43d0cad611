"""The drill's rulebook: who must receive each copy, by design.md's rules, remembering
which province holds which alert (withdrawals go to exactly the holders)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hxbus.drill import Rulebook
from producers.publisher import Receipt
from schemas import Envelope, ExchangeEvent, load_agreement

AGREEMENT = load_agreement()
XUZHOU, JINING, SHANGQIU = "320300000000", "370800000000", "411400000000"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _event(event_type: str, source: str, record: dict[str, Any], target: str | None = None):
    envelope = Envelope(
        message_id="6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab",
        event_type=event_type,
        source=source,
        created_at=NOW,
        target=target,
    )
    return ExchangeEvent(envelope, record)


def _alert(handling: str, share_with: list[str]) -> ExchangeEvent:
    record = {"alert_id": "a-1", "revision": 1, "issuing_agency": XUZHOU, "handling": handling,
              "share_with": share_with}  # fmt: skip
    return _event("PersonAlert", XUZHOU, record)


def _withdrawal() -> ExchangeEvent:
    record = {"alert_id": "a-1", "alert_kind": "PERSON", "status": "WITHDRAWN", "agency": XUZHOU}
    return _event("AlertStatusChange", XUZHOU, record)


def _on(topic: str) -> Receipt:
    return Receipt(topic, 0, 1, "6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab")


def test_need_to_know_alert_and_its_withdrawal_reach_exactly_the_holders() -> None:
    """A NEED_TO_KNOW Xuzhou alert shared with Jining goes to Shandong only, and so does
    its withdrawal; another alert's withdrawal goes nowhere."""
    rules = Rulebook(AGREEMENT)
    alert = rules.expected(_alert("NEED_TO_KNOW", [JINING]), _on("hx.alerts.person"))
    withdrawal = rules.expected(_withdrawal(), _on("hx.alerts.person"))
    stranger = Rulebook(AGREEMENT).expected(_withdrawal(), _on("hx.alerts.person"))
    assert ({"SD": (JINING,)}, {"SD": ()}, {}) == (alert, withdrawal, stranger)


def test_holders_restored_from_the_ledger_decide_a_restarted_publishers_withdrawal() -> None:
    """A restarted publisher's rulebook, given the ledger's holders, sends the withdrawal
    to them."""
    rules = Rulebook(AGREEMENT, {"a-1": {"HA", "AH"}})
    assert {"HA": (), "AH": ()} == rules.expected(_withdrawal(), _on("hx.alerts.person"))


def test_a_directed_copy_is_due_at_the_province_of_its_inbox() -> None:
    """A hit for Shangqiu, read from Shangqiu's inbox, is due in Henan only."""
    record = {"hit_id": "h-1", "alert_id": "a-2"}
    hit = _event("AlertHit", JINING, record, target=SHANGQIU)
    expected = {"HA": (SHANGQIU,)}
    assert expected == Rulebook(AGREEMENT).expected(hit, _on(f"hx.inbox.{SHANGQIU}"))


def test_the_senders_own_copy_of_a_hit_is_due_nowhere() -> None:
    """A Jining hit's sender's copy in Jining's own inbox goes to no local system."""
    hit = _event("AlertHit", JINING, {"hit_id": "h-1", "alert_id": "a-2"}, target=SHANGQIU)
    assert {} == Rulebook(AGREEMENT).expected(hit, _on(f"hx.inbox.{JINING}"))
