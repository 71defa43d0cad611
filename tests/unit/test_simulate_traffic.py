"""producers.synthetic: valid, related, deterministic synthetic exchange traffic."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from producers import SyntheticTraffic
from schemas import Agreement, ExchangeEvent, render_event, validate_event, validate_record

START = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def thousand(agreement: Agreement) -> list[ExchangeEvent]:
    """1,000 events of seed 42."""
    return SyntheticTraffic(agreement, seed=42, start=START).take(1000)


def test_thousand_events_validate(thousand: list[ExchangeEvent], agreement: Agreement) -> None:
    """Every generated record passes validate_record, and every envelope fits its record."""
    failures = []
    for event in thousand:
        try:
            validate_record(
                event.event_type, event.record, agreement, now=event.envelope.created_at
            )
            validate_event(event.envelope, event.record, agreement)
        except Exception as exc:  # collect them all, to see every rule broken at once
            failures.append(f"{event.event_type} {event.envelope.message_id}: {exc}")
    assert [] == failures


def test_same_seed_same_events(agreement: Agreement, thousand: list[ExchangeEvent]) -> None:
    """Same seed and start: the same events, ids and times included."""
    again = SyntheticTraffic(agreement, seed=42, start=START).take(1000)
    assert [render_event(e) for e in thousand] == [render_event(e) for e in again]


def test_other_seed_other_events(agreement: Agreement, thousand: list[ExchangeEvent]) -> None:
    """Another seed gives other ids."""
    other = SyntheticTraffic(agreement, seed=43, start=START).take(10)
    assert set() == {e.envelope.message_id for e in other} & {
        e.envelope.message_id for e in thousand
    }


def test_times_step_by_the_spacing(agreement: Agreement) -> None:
    """Event i is created at start + i × spacing."""
    spacing = timedelta(milliseconds=250)
    events = SyntheticTraffic(agreement, seed=1, start=START, spacing=spacing).take(5)
    assert [START + i * spacing for i in range(5)] == [e.envelope.created_at for e in events]


def test_every_type_occurs_and_hits_outnumber_alerts(thousand: list[ExchangeEvent]) -> None:
    """All seven types occur; hits outnumber new alerts (revision 1)."""
    counts = Counter(e.event_type for e in thousand)
    new_alerts = sum(
        1 for e in thousand if e.event_type.endswith("Alert") and e.record["revision"] == 1
    )
    assert 7 == len(counts)
    assert counts["AlertHit"] > new_alerts


def test_hits_name_live_alerts_and_go_to_their_issuer(thousand: list[ExchangeEvent]) -> None:
    """A hit names an alert issued before it and not yet withdrawn, and targets its issuer."""
    issuer: dict[str, str] = {}
    ended: set[str] = set()
    wrong = []
    for event in thousand:
        record = event.record
        if event.event_type in ("PersonAlert", "VehicleAlert"):
            issuer[record["alert_id"]] = record["issuing_agency"]
        elif event.event_type == "AlertStatusChange":
            ended.add(record["alert_id"])
        elif event.event_type == "AlertHit":
            alert_id = record["alert_id"]
            if alert_id in ended or issuer.get(alert_id) != event.envelope.target:
                wrong.append(record["hit_id"])
    assert [] == wrong


def test_confirmations_answer_hits_that_asked(thousand: list[ExchangeEvent]) -> None:
    """A confirmation answers an earlier hit that asked for one, to the hit's reporter."""
    asked: dict[str, str] = {}
    wrong = []
    for event in thousand:
        if event.event_type == "AlertHit" and event.record["confirmation_requested"]:
            asked[event.record["hit_id"]] = event.record["reporting_agency"]
        elif event.event_type == "HitConfirmation" and (
            asked.pop(event.record["hit_id"], None) != event.envelope.target
        ):
            wrong.append(event.record["hit_id"])
    assert [] == wrong


def test_responses_answer_requests_to_the_requester(thousand: list[ExchangeEvent]) -> None:
    """A response comes from a target of an earlier request and goes to its requester."""
    requests: dict[str, tuple[str, list[str]]] = {}
    wrong = []
    for event in thousand:
        record = event.record
        if event.event_type == "AssistanceRequest":
            requests[record["request_id"]] = (
                record["requesting_agency"],
                record["target_agencies"],
            )
        elif event.event_type == "AssistanceResponse":
            requester, targets = requests[record["request_id"]]
            if event.envelope.target != requester or record["responding_agency"] not in targets:
                wrong.append(record["response_id"])
    assert [] == wrong


def test_revisions_count_up_by_one_per_alert(thousand: list[ExchangeEvent]) -> None:
    """Each alert's revisions are 1, 2, 3, … in stream order."""
    revisions: dict[str, list[int]] = {}
    for event in thousand:
        if event.event_type in ("PersonAlert", "VehicleAlert"):
            revisions.setdefault(event.record["alert_id"], []).append(event.record["revision"])
    revised = {k: v for k, v in revisions.items() if len(v) > 1}
    assert revised
    assert {k: list(range(1, len(v) + 1)) for k, v in revised.items()} == revised


def test_people_carry_their_city_and_the_four_byte_name(
    thousand: list[ExchangeEvent], agreement: Agreement
) -> None:
    """Identity numbers start with the issuer's city; some name needs 4 bytes in GB18030."""
    people = [e.record for e in thousand if e.event_type == "PersonAlert"]
    outside = [
        p["subject"]["id_number"]
        for p in people
        if p["subject"]["id_number"][:4] != agreement.agency(p["issuing_agency"]).admin_code[:4]
    ]
    four_byte = [p["subject"]["name"] for p in people if "𠮷" in p["subject"]["name"]]
    assert [] == outside
    assert four_byte
    assert 4 == len("𠮷".encode("gb18030"))


def test_plates_carry_the_issuers_prefix(
    thousand: list[ExchangeEvent], agreement: Agreement
) -> None:
    """A vehicle alert's plate starts with its issuing city's prefix (苏C for Xuzhou)."""
    vehicles = [e.record for e in thousand if e.event_type == "VehicleAlert"]
    assert [] == [
        v["plate"]["number"]
        for v in vehicles
        if not v["plate"]["number"].startswith(agreement.agency(v["issuing_agency"]).plate_prefix)
    ]
