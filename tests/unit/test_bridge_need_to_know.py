"""The inbound bridge and need-to-know copies: each revision once per province, withdrawals
to exactly the holders, the issuer's own copy never delivered back."""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client import REGISTRY
from test_bridge_inbound import AuditList, delivery, inbox, make_bridge

from bridge import InboundBridge
from consumers import Delivery
from producers import narrowing_withdrawals, routes
from schemas import Agreement, Envelope, ExchangeEvent, load_agreement, parse_event
from schemas.audiences import AudienceBook

AGREEMENT: Agreement = load_agreement()
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"
JINING, HEZE, HUAIBEI, SUZHOU = "370800000000", "371700000000", "340600000000", "341300000000"


def jining_alert(share_with: list[str], revision: int = 1) -> ExchangeEvent:
    """Jining's PersonAlert (from Xuzhou's fixture), NEED_TO_KNOW for ``share_with``."""
    raw = json.loads((FIXTURES / "person_alert_xuzhou.json").read_text(encoding="utf-8"))
    raw["source"] = JINING
    raw["id"] = f"6f1c1d7e-2b1a-4c55-9a51-0c7e3f4f9a{revision:02d}"
    raw["data"].update(
        issuing_agency=JINING, handling="NEED_TO_KNOW", share_with=share_with, revision=revision
    )
    event = parse_event(raw, AGREEMENT)
    assert isinstance(event, ExchangeEvent), event
    return event


def copies(event: ExchangeEvent, book: AudienceBook) -> dict[str, Delivery]:
    """The deliveries of ``event``'s copies as the bridges read them, by target agency."""
    out = {}
    for offset, route in enumerate(routes(event, AGREEMENT, book)):
        message = delivery(ExchangeEvent(route.envelope, event.record), offset)
        assert route.envelope.target is not None
        out[route.envelope.target] = message
    book.note(event.event_type, event.record)
    return out


def status_change(alert: ExchangeEvent) -> ExchangeEvent:
    record = {
        "alert_id": alert.record["alert_id"],
        "alert_kind": "PERSON",
        "status": "WITHDRAWN",
        "reason": "经核实信息有误",
        "changed_at": alert.envelope.created_at,
        "agency": JINING,
    }
    return ExchangeEvent(Envelope("AlertStatusChange", JINING), record)


def outcomes(audit: AuditList) -> list[tuple[str, str, str]]:
    return [(r["event_type"], r["recipient_agency"], r["outcome"]) for r in audit.flushed]


def run(bridge: InboundBridge, *messages: Delivery) -> None:
    for message in messages:
        bridge.handle(message)
    bridge.flush()


def test_two_agencies_copies_reach_the_local_system_once_with_an_audit_each(
    tmp_path: Path,
) -> None:
    """Huaibei's and Suzhou's copies of one revision: one file in the Anhui inbox, one
    audit record per agency (the second: DUPLICATE, the system has it)."""
    bridge, audit = make_bridge(tmp_path, "AH")
    got = copies(jining_alert([HUAIBEI, SUZHOU]), AudienceBook())
    run(bridge, got[HUAIBEI], got[SUZHOU])
    assert [f"{got[HUAIBEI].message_id}.json"] == inbox(tmp_path)
    assert [
        ("PersonAlert", HUAIBEI, "DELIVERED"),
        ("PersonAlert", SUZHOU, "DUPLICATE"),
    ] == outcomes(audit)


def test_issuer_copy_is_not_delivered_back_to_its_province(tmp_path: Path) -> None:
    """Jining's own copy is filtered at the Shandong bridge when no other Shandong agency
    is in share_with; Heze's copy is delivered when Heze is."""
    alone, alone_audit = make_bridge(tmp_path / "alone", "SD")
    run(alone, copies(jining_alert([HUAIBEI]), AudienceBook())[JINING])
    assert ([], []) == (alone_audit.flushed, list((tmp_path / "alone" / "root").rglob("*.xml")))
    shared, shared_audit = make_bridge(tmp_path / "shared", "SD")
    got = copies(jining_alert([HEZE]), AudienceBook())
    run(shared, got[JINING], got[HEZE])
    assert [("PersonAlert", HEZE, "DELIVERED")] == outcomes(shared_audit)


def test_narrowing_withdraws_the_alert_from_the_sole_holder(tmp_path: Path) -> None:
    """Suzhou dropped, and no other Anhui agency shares the alert: the withdrawal reaches
    the Anhui local system."""
    bridge, audit = make_bridge(tmp_path, "AH")
    book = AudienceBook()
    first = jining_alert([SUZHOU, HEZE])
    run(bridge, copies(first, book)[SUZHOU])
    revised = jining_alert([HEZE], revision=2)
    (dropped,) = narrowing_withdrawals(revised, book.get(first.record["alert_id"]))
    (withdrawal,) = copies(dropped, book).values()
    run(bridge, withdrawal)
    assert 2 == len(inbox(tmp_path))
    assert [
        ("PersonAlert", SUZHOU, "DELIVERED"),
        ("AlertStatusChange", SUZHOU, "DELIVERED"),
    ] == outcomes(audit)


def test_narrowing_keeps_the_alert_for_the_agency_still_sharing_it(tmp_path: Path) -> None:
    """Huaibei dropped while Suzhou keeps the alert: nothing new in the Anhui inbox, the
    withdrawal is audited for Huaibei only."""
    bridge, audit = make_bridge(tmp_path, "AH")
    book = AudienceBook()
    first = jining_alert([HUAIBEI, SUZHOU])
    got = copies(first, book)
    run(bridge, got[HUAIBEI], got[SUZHOU])
    revised = jining_alert([SUZHOU], revision=2)
    (dropped,) = narrowing_withdrawals(revised, book.get(first.record["alert_id"]))
    (withdrawal,) = copies(dropped, book).values()
    run(bridge, withdrawal)
    assert 1 == len(inbox(tmp_path))
    assert ("AlertStatusChange", HUAIBEI, "DUPLICATE") == outcomes(audit)[-1]


def test_withdrawal_copies_reach_the_local_system_once(tmp_path: Path) -> None:
    """The issuer withdraws: Huaibei's and Suzhou's copies give one withdrawal file and an
    audit record for each agency."""
    bridge, audit = make_bridge(tmp_path, "AH")
    book = AudienceBook()
    alert = jining_alert([HUAIBEI, SUZHOU])
    got = copies(alert, book)
    run(bridge, got[HUAIBEI], got[SUZHOU])
    ended = copies(status_change(alert), book)
    run(bridge, ended[HUAIBEI], ended[SUZHOU])
    assert 2 == len(inbox(tmp_path))
    assert [
        ("AlertStatusChange", HUAIBEI, "DELIVERED"),
        ("AlertStatusChange", SUZHOU, "DUPLICATE"),
    ] == outcomes(audit)[2:]


def test_copy_for_another_province_is_filtered(tmp_path: Path) -> None:
    """Huaibei's copy read by the Henan bridge (a misrouted message) is never delivered."""
    bridge, audit = make_bridge(tmp_path, "HA")
    run(bridge, copies(jining_alert([HUAIBEI]), AudienceBook())[HUAIBEI])
    assert [] == audit.flushed


def test_second_copy_is_not_counted_as_delivered(tmp_path: Path) -> None:
    """hx_bridge_deliveries_total counts one delivery for two agencies' copies of one
    revision (delivered matches the files in the inbox)."""
    bridge, _ = make_bridge(tmp_path, "AH")
    labels = {"province": "AH", "event_type": "PersonAlert", "sink": "directory"}
    before = {o: _sample({**labels, "outcome": o}) for o in ("delivered", "filtered")}
    got = copies(jining_alert([HUAIBEI, SUZHOU]), AudienceBook())
    run(bridge, got[HUAIBEI], got[SUZHOU])
    after = {o: _sample({**labels, "outcome": o}) - before[o] for o in before}
    assert {"delivered": 1, "filtered": 1} == after


def _sample(labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value("hx_bridge_deliveries_total", labels) or 0.0
