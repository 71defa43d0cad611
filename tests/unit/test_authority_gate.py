"""consumers.AuthorityGate: when an unknown alert is waited for and when it is refused."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest
from tracker_support import alert_of, confirmation, delivery, hit

from consumers import AuthorityGate, MemoryFacts
from consumers.alert_register import AlertRegister, RegisterFacts, RegisterLookup
from runtime.kafka import TopicPartition
from schemas import Agreement, Envelope, ExchangeEvent
from schemas.errors import AuthorityRefused, AuthorityUnknown

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
JINING = "370800000000"


def status_change_on_alert_topic() -> ExchangeEvent:
    record = {
        "alert_id": "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31",
        "alert_kind": "PERSON",
        "status": "WITHDRAWN",
        "reason": None,
        "changed_at": NOW,
        "agency": JINING,
    }
    return ExchangeEvent(Envelope("AlertStatusChange", JINING), record)


def test_status_change_of_an_alert_no_one_knows_is_refused_at_once() -> None:
    """On an alert topic, once the register has been read, an unknown alert is unknown for
    good: refused (not retriable), so orphans do not stall the partition."""
    message = dataclasses.replace(
        delivery(status_change_on_alert_topic()), topic="hx.alerts.person"
    )
    gate = AuthorityGate(MemoryFacts(), RegisterFacts(AlertRegister()))
    with pytest.raises(AuthorityRefused) as refused:
        gate.check(message)
    assert ("alert_unknown", False) == (refused.value.rule, refused.value.retriable)


def test_hit_in_an_inbox_waits_for_its_alert(agreement: Agreement) -> None:
    """A hit in an inbox may come before its alert (another topic): retriable."""
    gate = AuthorityGate(MemoryFacts(), RegisterFacts(AlertRegister()))
    with pytest.raises(AuthorityUnknown):
        gate.check(delivery(hit(agreement, NOW)))


def test_register_role_never_waits(agreement: Agreement) -> None:
    """wait_for_unknown=False (the register role): refused at once, wherever read."""
    gate = AuthorityGate(MemoryFacts(), RegisterFacts(AlertRegister()), wait_for_unknown=False)
    with pytest.raises(AuthorityRefused) as refused:
        gate.check(delivery(hit(agreement, NOW)))
    assert ("alert_unknown", False) == (refused.value.rule, refused.value.retriable)


def test_sender_copy_behind_a_confirmation_is_learnt_ahead(agreement: Agreement) -> None:
    """A confirmation whose hit is known only from the sender's copy behind it: unknown,
    then, once the gate learnt ahead from that copy, accepted."""
    reported = hit(agreement, NOW)
    alert = dataclasses.replace(
        delivery(alert_of(agreement, reported, NOW)), topic="hx.alerts.vehicle"
    )
    reporter = reported.envelope.source
    copy = ExchangeEvent(reported.envelope.evolve(target=reporter), reported.record)
    answer = delivery(confirmation(agreement, reported, NOW))
    gate = AuthorityGate(MemoryFacts())
    gate.check(alert)
    with pytest.raises(AuthorityUnknown):
        gate.check(answer)
    taught = gate.learn_ahead(answer, [delivery(copy, offset=1)])
    gate.check(answer)
    assert 1 == taught


def test_learning_ahead_keeps_a_stuck_hits_first_sighting(agreement: Agreement) -> None:
    """A hit waiting for its alert, and behind it another hit with the same hit_id (another
    reporter, on an alert the receiver knows): not learnt ahead, so the hit read first in
    order stays the first sighting."""
    stuck = hit(agreement, NOW)
    stuck = ExchangeEvent(stuck.envelope, {**stuck.record, "alert_id": str(uuid.uuid4())})
    other = hit(agreement, NOW, reporter="320300000000")
    other = ExchangeEvent(
        other.envelope,
        {**other.record, "hit_id": stuck.record["hit_id"], "reporting_agency": "320300000000"},
    )
    known = dataclasses.replace(
        delivery(alert_of(agreement, other, NOW)), topic="hx.alerts.vehicle"
    )
    facts = MemoryFacts()
    gate = AuthorityGate(facts)
    gate.check(known)
    gate.check(delivery(other))  # accepted on its own: it would teach the hit
    facts.rollback()
    gate.check(known)
    with pytest.raises(AuthorityUnknown):
        gate.check(delivery(stuck))
    taught = gate.learn_ahead(delivery(stuck), [delivery(other, offset=1)])
    assert (0, None) == (taught, facts.hit(stuck.record["hit_id"]))


def test_a_register_load_starts_at_an_alerts_second_miss() -> None:
    """RegisterLookup: the first miss of an alert starts no load (it is usually still on
    an alert topic not read that far), the second miss of the same alert does."""
    loads: list[int] = []

    def load() -> AlertRegister:
        loads.append(1)
        return AlertRegister()

    lookup = RegisterLookup(load)
    first = lookup.alert("0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31")
    lookup.wait()
    after_first = len(loads)
    second = lookup.alert("0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31")
    lookup.wait()
    assert (None, 0, None, 1) == (first, after_first, second, len(loads))


def test_a_batch_handles_the_alert_topics_partitions_first() -> None:
    """AuthorityGate.ordered: alert-topic partitions before inbox partitions, each kind in
    the order given."""
    inbox0, inbox1 = TopicPartition("hx.inbox.320300000000", 0), TopicPartition("hx.inbox.x", 1)
    person, vehicle = TopicPartition("hx.alerts.person", 2), TopicPartition("hx.alerts.vehicle", 0)
    assert [person, vehicle, inbox0, inbox1] == AuthorityGate.ordered(
        [inbox0, person, inbox1, vehicle]
    )
