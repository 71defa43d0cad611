"""A need-to-know alert through the four province bridges, on the real broker.

Jining issues a NEED_TO_KNOW PersonAlert shared with Suzhou (Anhui) and Heze (Shandong),
then a revision that drops Suzhou. Copies travel in the inboxes only; the Anhui bridge
reads Suzhou's and must deliver revision 1 and then the withdrawal the narrowing sent
Suzhou; the Shandong bridge reads Heze's copies (both revisions) and never Jining's own;
Jiangsu and Henan receive nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from e2e_bridge_support import finish, inbox_ids, prepare_groups, start_bridge

from producers import Publisher, SyntheticTraffic, fan_out_message_id
from runtime import Settings
from schemas import DEFAULT_AGREEMENT_PATH, Agreement, ExchangeEvent, load_agreement

pytestmark = pytest.mark.broker

#: Every province of the agreement (its spec: schemas/province.py).
PROVINCES = tuple(load_agreement(DEFAULT_AGREEMENT_PATH).provinces)
JINING, HEZE, SUZHOU = "370800000000", "371700000000", "341300000000"


def jining_alert(agreement: Agreement) -> ExchangeEvent:
    """A fresh PersonAlert of Jining's, NEED_TO_KNOW for Suzhou and Heze."""
    traffic = SyntheticTraffic(agreement, seed=uuid.uuid4().int % 2**31, start=datetime.now(UTC))
    event = next(
        e for e in traffic if e.event_type == "PersonAlert" and e.envelope.source == JINING
    )
    record = {**event.record, "handling": "NEED_TO_KNOW", "share_with": [HEZE, SUZHOU]}
    return ExchangeEvent(event.envelope, record)


def test_narrowed_alert_is_withdrawn_from_the_dropped_agency_local_system(
    settings: Settings,
    agreement: Agreement,
    unique_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    """Anhui gets revision 1 then the withdrawal; Shandong gets Heze's two revisions;
    Jiangsu and Henan get nothing of it."""
    groups = {p: unique_name(f"g-{p.lower()}") for p in PROVINCES}
    prepare_groups(settings, agreement, groups)
    first = jining_alert(agreement)
    revised = ExchangeEvent(
        first.envelope.evolve(message_id=str(uuid.uuid4())),
        {**first.record, "revision": 2, "share_with": [HEZE]},
    )
    with Publisher(settings, agreement) as publisher:
        sent = [publisher.publish(first), publisher.publish(revised)]
    ours = {r.message_id for receipts in sent for r in receipts}
    withdrawal = fan_out_message_id(
        fan_out_message_id(revised.envelope.message_id, f"withdraw:{SUZHOU}"), SUZHOU
    )
    expected = {
        "AH": {fan_out_message_id(first.envelope.message_id, SUZHOU), withdrawal},
        "SD": {
            fan_out_message_id(first.envelope.message_id, HEZE),
            fan_out_message_id(revised.envelope.message_id, HEZE),
        },
        "JS": set(),
        "HA": set(),
    }
    assert withdrawal in ours

    roots = {p: tmp_path / p.lower() for p in PROVINCES}
    bridges = [
        start_bridge(settings, p, roots[p], groups[p], "--until-idle", "4") for p in PROVINCES
    ]
    for bridge in bridges:  # each stops once it read everything and was idle for 4 s
        finish(bridge, timeout=120)
    assert expected == {p: inbox_ids(roots[p]) & ours for p in PROVINCES}
