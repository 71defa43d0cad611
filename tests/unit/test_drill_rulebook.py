"""The drill's rulebook: what each acknowledged event makes due where, by design.md's
rules — one delivery per province, whichever of its agencies' copies arrives first —
remembering which province holds which alert (withdrawals go to exactly the holders)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hxbus.drill import Due, Rulebook
from producers.publisher import Receipt
from producers.routing import narrowing_withdrawals, routes
from schemas import Envelope, ExchangeEvent, load_agreement
from schemas.audiences import AudienceBook

AGREEMENT = load_agreement()
XUZHOU, JINING, LINYI, SHANGQIU = "320300000000", "370800000000", "371300000000", "411400000000"
HEFEI = "340600000000"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _event(
    event_type: str, source: str, record: dict[str, Any], target: str | None = None, n: int = 0
) -> ExchangeEvent:
    envelope = Envelope(
        message_id=f"6f1c2d3e-4a5b-4c6d-8e7f-0123456789{n:02d}",
        event_type=event_type,
        source=source,
        created_at=NOW,
        target=target,
    )
    return ExchangeEvent(envelope, record)


def _alert(handling: str, share_with: list[str], revision: int = 1) -> ExchangeEvent:
    record = {"alert_id": "a-1", "revision": revision, "issuing_agency": XUZHOU,
              "handling": handling, "share_with": share_with}  # fmt: skip
    return _event("PersonAlert", XUZHOU, record, n=revision)


def _withdrawal() -> ExchangeEvent:
    record = {"alert_id": "a-1", "alert_kind": "PERSON", "status": "WITHDRAWN", "agency": XUZHOU}
    return _event("AlertStatusChange", XUZHOU, record, n=50)


def _sent(event: ExchangeEvent, book: AudienceBook) -> list[Receipt]:
    """The receipts the Publisher would get: every route, and a narrowing's withdrawals."""
    copies = [(r.topic, r.envelope.message_id) for r in routes(event, AGREEMENT, book)]
    for withdrawal in narrowing_withdrawals(event, book.get(str(event.record["alert_id"]))):
        copies += [(r.topic, r.envelope.message_id) for r in routes(withdrawal, AGREEMENT, book)]
    book.note(event.event_type, event.record)
    return [Receipt(topic, 0, offset, mid) for offset, (topic, mid) in enumerate(copies)]


def _ids(receipts: list[Receipt], *agencies: str) -> frozenset[str]:
    return frozenset(
        r.message_id for r in receipts if r.topic.removeprefix("hx.inbox.") in agencies
    )


def test_need_to_know_copies_of_one_province_are_one_delivery() -> None:
    """A NEED_TO_KNOW Xuzhou alert shared with Jining, Linyi (both Shandong) and Hefei:
    Shandong is due exactly one of its two agencies' copies, Anhui its one, Jiangsu
    (the issuer's own copy) nothing; so is its withdrawal, to the same holders."""
    rules, book = Rulebook(AGREEMENT), AudienceBook()
    sent = _sent(_alert("NEED_TO_KNOW", [JINING, LINYI, HEFEI]), book)
    withdrawal = _sent(_withdrawal(), book)
    expected = (
        {
            Due("SD", _ids(sent, JINING, LINYI), (JINING, LINYI)),
            Due("AH", _ids(sent, HEFEI), (HEFEI,)),
        },
        {Due("SD", _ids(withdrawal, JINING, LINYI), ()), Due("AH", _ids(withdrawal, HEFEI), ())},
    )
    actual = (set(rules.due(_alert("NEED_TO_KNOW", [JINING, LINYI, HEFEI]), sent)),
              set(rules.due(_withdrawal(), withdrawal)))  # fmt: skip
    assert expected == actual


def test_a_narrowing_withdraws_only_where_no_agency_still_shares_the_alert() -> None:
    """Revision 2 keeps Jining only: Shandong is due revision 2 (Linyi's withdrawal is
    due nowhere: Jining still shares it), Anhui the withdrawal for Hefei; a later
    withdrawal of the alert is due in Shandong alone."""
    rules, book = Rulebook(AGREEMENT), AudienceBook()
    first = _alert("NEED_TO_KNOW", [JINING, LINYI, HEFEI])
    rules.due(first, _sent(first, book))
    narrowed = _alert("NEED_TO_KNOW", [JINING], revision=2)
    sent = _sent(narrowed, book)
    hefei_withdrawal = frozenset(
        r.message_id for r in sent if r.topic == f"hx.inbox.{HEFEI}"
    )  # only the withdrawal goes to Hefei now
    later = _sent(_withdrawal(), book)
    expected = (
        {Due("SD", _ids(sent, JINING), (JINING,)), Due("AH", hefei_withdrawal, ())},
        [Due("SD", _ids(later, JINING), ())],
    )
    assert expected == (set(rules.due(narrowed, sent)), rules.due(_withdrawal(), later))


def test_holders_restored_from_the_ledger_decide_a_restarted_publishers_withdrawal() -> None:
    """A restarted publisher's rulebook, given the ledger's holders, makes a broadcast
    withdrawal due at them; without them, nowhere."""
    receipt = Receipt("hx.alerts.person", 0, 1, "m-1")
    restored = Rulebook(AGREEMENT, {"a-1": {"HA", "AH"}}).due(_withdrawal(), [receipt])
    stranger = Rulebook(AGREEMENT).due(_withdrawal(), [receipt])
    expected = [Due("HA", frozenset({"m-1"}), ()), Due("AH", frozenset({"m-1"}), ())]
    assert (expected, []) == (restored, stranger)


def test_a_directed_copy_is_due_at_the_province_of_its_inbox_and_the_senders_nowhere() -> None:
    """A Jining hit for Shangqiu is due in Henan; the sender's copy in Jining's own
    inbox is due in no local system."""
    hit = _event("AlertHit", JINING, {"hit_id": "h-1", "alert_id": "a-2"}, target=SHANGQIU)
    receipts = [
        Receipt(f"hx.inbox.{SHANGQIU}", 0, 1, "m-h"),
        Receipt(f"hx.inbox.{JINING}", 0, 1, "m-s"),
    ]
    assert [Due("HA", frozenset({"m-h"}), (SHANGQIU,))] == Rulebook(AGREEMENT).due(hit, receipts)
