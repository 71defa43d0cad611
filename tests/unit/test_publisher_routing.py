"""producers.routing: which topic each event type goes to, and the fan-out of requests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from producers import fan_out_message_id, routes
from producers.synthetic import SyntheticTraffic
from schemas import Agreement, ExchangeEvent, inbox_topic
from schemas.errors import ValidationFailed

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sample(agreement: Agreement) -> dict[str, list[ExchangeEvent]]:
    """Synthetic events of every type (seeded), grouped by type."""
    by_type: dict[str, list[ExchangeEvent]] = {}
    for event in SyntheticTraffic(agreement, seed=11, start=START).take(400):
        by_type.setdefault(event.event_type, []).append(event)
    return by_type


@pytest.mark.parametrize(
    ("event_type", "topic"),
    [("PersonAlert", "hx.alerts.person"), ("VehicleAlert", "hx.alerts.vehicle")],
)
def test_alerts_go_to_their_broadcast_topic(
    sample: dict[str, list[ExchangeEvent]], agreement: Agreement, event_type: str, topic: str
) -> None:
    """An alert is one message on the alert topic of its kind, its envelope unchanged."""
    event = sample[event_type][0]
    assert [(topic, event.envelope)] == [(r.topic, r.envelope) for r in routes(event, agreement)]


def test_status_changes_follow_their_alert_kind(
    sample: dict[str, list[ExchangeEvent]], agreement: Agreement
) -> None:
    """An AlertStatusChange goes to the topic of its alert_kind, where its alert is."""
    expected = {"PERSON": "hx.alerts.person", "VEHICLE": "hx.alerts.vehicle"}
    changes = sample["AlertStatusChange"]
    assert {"PERSON", "VEHICLE"} == {c.record["alert_kind"] for c in changes}
    for change in changes:
        assert [expected[change.record["alert_kind"]]] == [
            r.topic for r in routes(change, agreement)
        ]


@pytest.mark.parametrize("event_type", ["AlertHit", "HitConfirmation", "AssistanceResponse"])
def test_directed_events_go_to_the_target_inbox(
    sample: dict[str, list[ExchangeEvent]], agreement: Agreement, event_type: str
) -> None:
    """Hits, confirmations and responses go to the inbox of envelope.target, once (a hit
    also to its reporter's own inbox: the sender's copy)."""
    event = sample[event_type][0]
    assert event.envelope.target is not None
    expected = [inbox_topic(event.envelope.target)]
    if event_type == "AlertHit":
        expected.append(inbox_topic(event.envelope.source))
    assert expected == [r.topic for r in routes(event, agreement)]


@pytest.mark.parametrize("event_type", ["AlertHit", "AssistanceRequest"])
def test_sender_copy_goes_to_the_senders_inbox_addressed_to_itself(
    sample: dict[str, list[ExchangeEvent]], agreement: Agreement, event_type: str
) -> None:
    """The last copy of a hit or request: the sender's inbox, target == source, message id
    uuid5(base id, sender), the same every time."""
    event = sample[event_type][0]
    sender = event.envelope.source
    expected_id = str(uuid.uuid5(uuid.UUID(event.envelope.message_id), sender))
    first, again = routes(event, agreement)[-1], routes(event, agreement)[-1]
    assert (inbox_topic(sender), sender, expected_id, expected_id) == (
        first.topic,
        first.envelope.target,
        first.envelope.message_id,
        again.envelope.message_id,
    )


def test_hit_addressed_to_its_reporter_is_refused(
    sample: dict[str, list[ExchangeEvent]], agreement: Agreement
) -> None:
    """A hit whose target is its own reporter is refused on hxtarget, rule self_addressed."""
    hit = sample["AlertHit"][0]
    selfish = ExchangeEvent(hit.envelope.evolve(target=hit.envelope.source), hit.record)
    with pytest.raises(ValidationFailed) as failed:
        routes(selfish, agreement)
    assert [("hxtarget", True)] == [
        (i.path, i.rule.startswith("self_addressed: ")) for i in failed.value.issues
    ]


def test_request_naming_its_requester_as_target_is_refused(
    sample: dict[str, list[ExchangeEvent]], agreement: Agreement
) -> None:
    """A request whose target_agencies include the requester is refused, self_addressed."""
    request = sample["AssistanceRequest"][0]
    record = dict(request.record)
    record["target_agencies"] = [*record["target_agencies"], request.envelope.source]
    with pytest.raises(ValidationFailed) as failed:
        routes(ExchangeEvent(request.envelope, record), agreement)
    assert [("target_agencies", True)] == [
        (i.path, i.rule.startswith("self_addressed: ")) for i in failed.value.issues
    ]


@pytest.mark.parametrize("event_type", ["AlertHit", "HitConfirmation", "AssistanceResponse"])
def test_directed_event_without_target_is_refused(
    sample: dict[str, list[ExchangeEvent]], agreement: Agreement, event_type: str
) -> None:
    """A directed event with no target cannot be routed: the issue names hxtarget."""
    event = sample[event_type][0]
    untargeted = ExchangeEvent(event.envelope.evolve(target=None), event.record)
    with pytest.raises(ValidationFailed) as failed:
        routes(untargeted, agreement)
    assert ["hxtarget"] == [issue.path for issue in failed.value.issues]


def test_broadcast_with_target_is_refused(
    sample: dict[str, list[ExchangeEvent]], agreement: Agreement
) -> None:
    """An alert addressed to one agency is a mistake (it goes to all): refused on hxtarget."""
    alert = sample["PersonAlert"][0]
    targeted = ExchangeEvent(alert.envelope.evolve(target="370800000000"), alert.record)
    with pytest.raises(ValidationFailed) as failed:
        routes(targeted, agreement)
    assert ["hxtarget"] == [issue.path for issue in failed.value.issues]


def test_request_fans_out_one_copy_per_target(
    sample: dict[str, list[ExchangeEvent]], agreement: Agreement
) -> None:
    """An AssistanceRequest becomes one message per target agency, in its inbox (then the
    sender's copy)."""
    request = next(r for r in sample["AssistanceRequest"] if len(r.record["target_agencies"]) > 1)
    targets = request.record["target_agencies"]
    copies = routes(request, agreement)[:-1]
    assert [(inbox_topic(t), t) for t in targets] == [(c.topic, c.envelope.target) for c in copies]


def test_fan_out_ids_are_uuid5_of_base_and_target(
    sample: dict[str, list[ExchangeEvent]], agreement: Agreement
) -> None:
    """Each copy's message id is uuid5(base id, target): distinct, and the same every time."""
    request = next(r for r in sample["AssistanceRequest"] if len(r.record["target_agencies"]) > 1)
    base = request.envelope.message_id
    expected = [str(uuid.uuid5(uuid.UUID(base), t)) for t in request.record["target_agencies"]]
    first = [c.envelope.message_id for c in routes(request, agreement)[:-1]]
    again = [c.envelope.message_id for c in routes(request, agreement)[:-1]]
    assert (expected, expected, len(expected)) == (first, again, len(set(first)))
    assert expected[0] == fan_out_message_id(base, request.record["target_agencies"][0])


def test_fan_out_copies_share_the_base_id_as_correlation(
    sample: dict[str, list[ExchangeEvent]], agreement: Agreement
) -> None:
    """Without a correlation id, every copy correlates to the request's base message id."""
    request = sample["AssistanceRequest"][0]
    assert request.envelope.correlation_id is None
    copies = routes(request, agreement)
    assert {request.envelope.message_id} == {c.envelope.correlation_id for c in copies}


def test_fan_out_keeps_a_given_correlation(
    sample: dict[str, list[ExchangeEvent]], agreement: Agreement
) -> None:
    """A correlation id the sender set (a case thread) is kept on every copy."""
    request = sample["AssistanceRequest"][0]
    thread = str(uuid.uuid4())
    correlated = ExchangeEvent(request.envelope.evolve(correlation_id=thread), request.record)
    assert {thread} == {c.envelope.correlation_id for c in routes(correlated, agreement)}


def test_request_with_target_resends_to_that_partner_only(
    sample: dict[str, list[ExchangeEvent]], agreement: Agreement
) -> None:
    """A request whose envelope names one of its targets is re-sent to that one, same id."""
    request = next(r for r in sample["AssistanceRequest"] if len(r.record["target_agencies"]) > 1)
    second = request.record["target_agencies"][1]
    resend = ExchangeEvent(request.envelope.evolve(target=second), request.record)
    full = {c.envelope.target: c.envelope.message_id for c in routes(request, agreement)}
    assert [(inbox_topic(second), full[second])] == [
        (c.topic, c.envelope.message_id) for c in routes(resend, agreement)
    ]


def test_request_to_an_agency_outside_its_targets_is_refused(
    sample: dict[str, list[ExchangeEvent]], agreement: Agreement
) -> None:
    """A request's envelope target must be one of its target_agencies."""
    request = sample["AssistanceRequest"][0]
    outsider = next(
        a.id
        for a in agreement.agencies
        if a.id not in request.record["target_agencies"] and a.id != request.envelope.source
    )
    stray = ExchangeEvent(request.envelope.evolve(target=outsider), request.record)
    with pytest.raises(ValidationFailed) as failed:
        routes(stray, agreement)
    assert ["hxtarget"] == [issue.path for issue in failed.value.issues]


def test_fan_out_of_a_non_uuid_message_id_is_refused() -> None:
    """Fan-out ids derive from a uuid; any other message id is named as the problem."""
    with pytest.raises(ValidationFailed) as failed:
        fan_out_message_id("not-a-uuid", "370800000000")
    assert ["id"] == [issue.path for issue in failed.value.issues]
