"""``hxbus publish`` refuses before sending what receivers would refuse (design.md,
Authority), in the receivers' words, from the alert register it loads anyway."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from consumers.alert_register import AlertRegister, RegisterFacts
from hxbus.commands.publish import authority_refusal
from schemas import Agreement, ExchangeEvent, parse_event

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"
XUZHOU = "320300000000"


def event(name: str, agreement: Agreement, **changes: Any) -> ExchangeEvent:
    """A fixture event with envelope (``source``, ``hxtarget``) or data fields changed."""
    raw = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    for key, value in changes.items():
        if key in ("source", "hxtarget"):
            raw[key] = value
        else:
            raw["data"][key] = value
    return parse_event(raw, agreement)


@pytest.fixture
def facts(agreement: Agreement) -> RegisterFacts:
    """The register knows Jining's vehicle alert (the fixtures' alert 9d3c…)."""
    register = AlertRegister()
    alert = event("vehicle_alert_jining.json", agreement)
    register.apply(alert.event_type, alert.record)
    return RegisterFacts(register)


def issues(found: Any) -> list[str]:
    return [] if found is None else [str(issue) for issue in found.issues]


def test_issuer_withdrawing_its_alert_passes(agreement: Agreement, facts: RegisterFacts) -> None:
    """Jining's own withdrawal of its alert: no refusal."""
    assert [] == issues(
        authority_refusal(event("alert_status_change_jining.json", agreement), facts)
    )


def test_withdrawal_of_another_agencys_alert_is_refused(
    agreement: Agreement, facts: RegisterFacts
) -> None:
    """Xuzhou withdrawing Jining's alert: refused on data.agency, rule status_not_by_issuer."""
    forged = event("alert_status_change_jining.json", agreement, source=XUZHOU, agency=XUZHOU)
    assert [
        "data.agency: status_not_by_issuer: alert 9d3c6b52-1f0e-4d2a-8e57-0a6f3b2c1d90 was "
        "issued by 370800000000; 320300000000 may not change its status"
    ] == issues(authority_refusal(forged, facts))


def test_revision_by_another_agency_is_refused(agreement: Agreement, facts: RegisterFacts) -> None:
    """A revision 5 of Jining's alert issued by Xuzhou: revision_issuer_changed."""
    forged = event(
        "vehicle_alert_jining.json",
        agreement,
        source=XUZHOU,
        issuing_agency=XUZHOU,
        revision=5,
    )
    found = issues(authority_refusal(forged, facts))
    assert ["data.issuing_agency: revision_issuer_changed"] == [
        i.split(": alert")[0] for i in found
    ]


def test_hit_to_another_than_the_issuer_is_refused(
    agreement: Agreement, facts: RegisterFacts
) -> None:
    """A hit on Jining's alert addressed to Xuzhou: refused on hxtarget, hit_not_to_issuer."""
    astray = event("alert_hit_huaibei.json", agreement, hxtarget=XUZHOU)
    found = issues(authority_refusal(astray, facts))
    assert ["hxtarget: hit_not_to_issuer"] == [i.split(": a hit")[0] for i in found]


def test_hit_on_an_alert_the_register_lacks_is_left_to_the_receivers(
    agreement: Agreement,
) -> None:
    """Unknown facts are no refusal before sending (the alert may be restricted)."""
    hit = event("alert_hit_huaibei.json", agreement)
    assert [] == issues(authority_refusal(hit, RegisterFacts(AlertRegister())))
