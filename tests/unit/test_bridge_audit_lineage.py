"""Audit lineage per receiving agency: an alert and its withdrawal, one record per agency.

Jiangsu's local system serves Xuzhou, Lianyungang and Suqian. A Xuzhou alert shared with
every partner reaches the system for Lianyungang and Suqian: the audit says so, agency by
agency, and the withdrawal is recorded for exactly the agencies that got the alert.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from test_bridge_inbound import delivery, fixture_event, make_bridge, withdrawal_of

from schemas import ExchangeEvent, new_message_id

XUZHOU, LIANYUNGANG, SUQIAN = "320300000000", "320700000000", "321300000000"


def test_alert_and_withdrawal_are_audited_once_per_receiving_agency(tmp_path: Path) -> None:
    """Each receiving agency has a DELIVERED record of the alert and of its withdrawal."""
    bridge, audit = make_bridge(tmp_path, "JS")
    alert = fixture_event("person_alert_xuzhou.json")
    change = withdrawal_of(alert)
    bridge.handle(delivery(alert, 0))
    bridge.flush()
    bridge.handle(delivery(change, 1))
    bridge.flush()

    rows = sorted((r["message_id"], r["recipient_agency"], r["outcome"]) for r in audit.flushed)
    expected = sorted(
        (event.envelope.message_id, agency, "DELIVERED")
        for event in (alert, change)
        for agency in (LIANYUNGANG, SUQIAN)
    )
    assert expected == rows
    assert 4 == len({r["audit_id"] for r in audit.flushed})


def test_withdrawal_reaches_the_union_of_agencies_over_revisions(tmp_path: Path) -> None:
    """An agency that got revision 1 but not revision 2 still gets the withdrawal record."""
    bridge, audit = make_bridge(tmp_path, "JS")
    alert = fixture_event("person_alert_xuzhou.json")
    narrowed = ExchangeEvent(
        replace(alert.envelope, message_id=new_message_id()),
        {**alert.record, "revision": 2, "handling": "NEED_TO_KNOW", "share_with": [SUQIAN]},
    )
    change = withdrawal_of(alert)
    for offset, event in enumerate((alert, narrowed, change)):
        bridge.handle(delivery(event, offset))
    bridge.flush()

    recipients = {
        event.envelope.message_id: sorted(
            r["recipient_agency"]
            for r in audit.flushed
            if r["message_id"] == event.envelope.message_id
        )
        for event in (alert, narrowed, change)
    }
    assert {
        alert.envelope.message_id: [LIANYUNGANG, SUQIAN],
        narrowed.envelope.message_id: [SUQIAN],
        change.envelope.message_id: [LIANYUNGANG, SUQIAN],
    } == recipients
