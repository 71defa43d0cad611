"""Need to know on the wire: restricted alerts go as directed copies, never broadcast."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from consumers import Delivery
from consumers.alert_register import AlertRegister, RegisterWriter
from producers import Publisher, fan_out_message_id, narrowing_withdrawals, routes
from runtime import Settings
from schemas import Agreement, Envelope, ExchangeEvent, inbox_topic, parse_event
from schemas.audiences import NARROWED_REASON, AudienceBook, broadcast_audience
from schemas.errors import ValidationFailed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"
XUZHOU, JINING, HUAIBEI, SUZHOU, HEZE = (
    "320300000000",
    "370800000000",
    "340600000000",
    "341300000000",
    "371700000000",
)


def xuzhou_alert(
    agreement: Agreement, handling: str, share_with: list[str], revision: int = 1
) -> ExchangeEvent:
    """Xuzhou's PersonAlert fixture with the given handling, share_with and revision."""
    raw = json.loads((FIXTURES / "person_alert_xuzhou.json").read_text(encoding="utf-8"))
    raw["data"].update(handling=handling, share_with=share_with, revision=revision)
    if revision > 1:
        raw["id"] = str(uuid.uuid5(uuid.UUID(raw["id"]), str(revision)))
    event = parse_event(raw, agreement)
    assert isinstance(event, ExchangeEvent), event
    return event


def withdrawal(alert: ExchangeEvent, status: str = "WITHDRAWN") -> ExchangeEvent:
    record = {
        "alert_id": alert.record["alert_id"],
        "alert_kind": "PERSON",
        "status": status,
        "reason": "经核实信息有误",
        "changed_at": alert.envelope.created_at,
        "agency": XUZHOU,
    }
    return ExchangeEvent(Envelope("AlertStatusChange", XUZHOU), record)


@pytest.mark.parametrize("handling", ["NEED_TO_KNOW", "ORIGINATOR_CONTROL", "A_FUTURE_SYMBOL"])
def test_restricted_alert_is_one_copy_per_recipient_and_none_broadcast(
    agreement: Agreement, handling: str
) -> None:
    """Every handling but SHARE_ALL_PARTNERS (unknown ones too: fail closed) gives one copy
    into the inbox of the issuer and of each share_with agency, addressed to it, with a
    message id derived from the original's."""
    event = xuzhou_alert(agreement, "NEED_TO_KNOW", [HUAIBEI, JINING])
    event = ExchangeEvent(event.envelope, {**event.record, "handling": handling})
    original = event.envelope.message_id
    expected = [
        (inbox_topic(agency), agency, fan_out_message_id(original, agency))
        for agency in (XUZHOU, HUAIBEI, JINING)
    ]
    assert expected == [
        (r.topic, r.envelope.target, r.envelope.message_id) for r in routes(event, agreement)
    ]


def test_share_all_alert_is_broadcast(agreement: Agreement) -> None:
    """A SHARE_ALL_PARTNERS alert is one message on its kind's alert topic, no target."""
    event = xuzhou_alert(agreement, "SHARE_ALL_PARTNERS", [])
    assert [("hx.alerts.person", None)] == [
        (r.topic, r.envelope.target) for r in routes(event, agreement, AudienceBook())
    ]


def test_status_change_follows_its_alert(agreement: Agreement) -> None:
    """A restricted alert's status change goes to its current recipients; a broadcast
    alert's to the alert topic."""
    restricted = xuzhou_alert(agreement, "NEED_TO_KNOW", [HUAIBEI])
    broadcast = xuzhou_alert(agreement, "SHARE_ALL_PARTNERS", [])
    book = AudienceBook()
    book.note(restricted.event_type, restricted.record)
    assert [inbox_topic(XUZHOU), inbox_topic(HUAIBEI)] == [
        r.topic for r in routes(withdrawal(restricted), agreement, book)
    ]
    shared_book = AudienceBook([broadcast_audience(broadcast.record["alert_id"], "PERSON", XUZHOU)])
    assert ["hx.alerts.person"] == [
        r.topic for r in routes(withdrawal(broadcast), agreement, shared_book)
    ]


def test_status_change_of_an_unknown_alert_is_refused(agreement: Agreement) -> None:
    """A sender that cannot tell who received an alert refuses its status change."""
    event = withdrawal(xuzhou_alert(agreement, "NEED_TO_KNOW", [HUAIBEI]))
    with pytest.raises(ValidationFailed) as refused:
        routes(event, agreement, AudienceBook())
    assert ["alert_id"] == [issue.path for issue in refused.value.issues]


@pytest.mark.parametrize(
    ("first", "then"),
    [("SHARE_ALL_PARTNERS", "NEED_TO_KNOW"), ("ORIGINATOR_CONTROL", "SHARE_ALL_PARTNERS")],
)
def test_revision_changing_between_broadcast_and_restricted_is_refused(
    agreement: Agreement, first: str, then: str
) -> None:
    """A revision may not move an alert between broadcast and need-to-know handling."""
    book = AudienceBook()
    issued = xuzhou_alert(agreement, first, [] if first == "SHARE_ALL_PARTNERS" else [HUAIBEI])
    book.note(issued.event_type, issued.record)
    revised = xuzhou_alert(agreement, then, [] if then == "SHARE_ALL_PARTNERS" else [HUAIBEI], 2)
    with pytest.raises(ValidationFailed) as refused:
        routes(revised, agreement, book)
    (issue,) = refused.value.issues
    assert "handling" == issue.path
    assert "withdraw it and issue a new alert" in issue.rule


@dataclass
class _Sent:
    topic: str
    headers: dict[str, bytes]


@dataclass
class _Future:
    topic: str
    offset: int
    is_done: bool = True

    def get(self, timeout: float | None = None) -> Any:
        return type("Metadata", (), {"topic": self.topic, "partition": 0, "offset": self.offset})


@dataclass
class _Producer:
    sent: list[_Sent] = field(default_factory=list)

    def send(self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]]) -> Any:
        self.sent.append(_Sent(topic, dict(headers)))
        return _Future(topic, len(self.sent))

    def flush(self, timeout: float | None = None) -> None:
        """Nothing buffered."""


def test_narrowing_revision_withdraws_the_alert_from_the_dropped_agency(
    agreement: Agreement,
) -> None:
    """A revision that drops Jining from share_with goes to Xuzhou and Huaibei, and Jining
    alone gets a WITHDRAWN status change signed as Xuzhou with the fixed reason code."""
    producer = _Producer()
    with Publisher(Settings(), agreement, producer=producer) as publisher:
        publisher.publish(xuzhou_alert(agreement, "NEED_TO_KNOW", [HUAIBEI, JINING]))
        producer.sent.clear()
        publisher.publish(xuzhou_alert(agreement, "NEED_TO_KNOW", [HUAIBEI], revision=2))
    assert [
        (inbox_topic(XUZHOU), b"PersonAlert"),
        (inbox_topic(HUAIBEI), b"PersonAlert"),
        (inbox_topic(JINING), b"AlertStatusChange"),
    ] == [(s.topic, s.headers["ce_type"]) for s in producer.sent]
    assert XUZHOU.encode() == producer.sent[2].headers["ce_source"]


def test_narrowing_withdrawal_carries_only_the_fixed_reason(agreement: Agreement) -> None:
    """The withdrawal for a dropped agency: WITHDRAWN, the reason code, the issuer, nothing
    from the alert but its id and kind."""
    book = AudienceBook()
    first = xuzhou_alert(agreement, "NEED_TO_KNOW", [HUAIBEI, JINING])
    book.note(first.event_type, first.record)
    revised = xuzhou_alert(agreement, "NEED_TO_KNOW", [HUAIBEI], revision=2)
    (only,) = narrowing_withdrawals(revised, book.get(first.record["alert_id"]))
    assert (JINING, XUZHOU) == (only.envelope.target, only.envelope.source)
    assert {
        "alert_id": first.record["alert_id"],
        "alert_kind": "PERSON",
        "status": "WITHDRAWN",
        "reason": NARROWED_REASON,
        "changed_at": revised.envelope.created_at,
        "agency": XUZHOU,
    } == only.record


def test_widening_revision_sends_no_withdrawal(agreement: Agreement) -> None:
    """A revision that adds Heze reaches the three recipients and withdraws nothing."""
    producer = _Producer()
    with Publisher(Settings(), agreement, producer=producer) as publisher:
        publisher.publish(xuzhou_alert(agreement, "NEED_TO_KNOW", [HUAIBEI]))
        producer.sent.clear()
        publisher.publish(xuzhou_alert(agreement, "NEED_TO_KNOW", [HUAIBEI, HEZE], revision=2))
    assert [
        (inbox_topic(XUZHOU), b"PersonAlert"),
        (inbox_topic(HUAIBEI), b"PersonAlert"),
        (inbox_topic(HEZE), b"PersonAlert"),
    ] == [(s.topic, s.headers["ce_type"]) for s in producer.sent]


def test_audience_book_keeps_every_agency_ever_reached(agreement: Agreement) -> None:
    """After a narrowing the recipients shrink, the agencies reached do not."""
    book = AudienceBook()
    for event in (
        xuzhou_alert(agreement, "NEED_TO_KNOW", [HUAIBEI, JINING]),
        xuzhou_alert(agreement, "NEED_TO_KNOW", [SUZHOU], revision=2),
    ):
        book.note(event.event_type, event.record)
    known = book.get(xuzhou_alert(agreement, "NEED_TO_KNOW", [SUZHOU]).record["alert_id"])
    assert known is not None
    assert (frozenset({XUZHOU, SUZHOU}), frozenset({XUZHOU, HUAIBEI, JINING, SUZHOU})) == (
        known.recipients,
        known.reached,
    )


class _RegisterProducer:
    def __init__(self) -> None:
        self.values: list[bytes] = []
        #: The alert states among them (the role's read marks left out).
        self.states: list[bytes] = []

    def send(self, topic: str, *, key: bytes, value: bytes) -> Any:
        self.values.append(value)
        if not key.startswith(b"@read:"):
            self.states.append(value)
        return _Future(topic, len(self.values))

    def flush(self, timeout: float | None = None) -> None:
        """Nothing buffered."""


def test_register_state_holds_no_field_of_a_restricted_alert(agreement: Agreement) -> None:
    """A restricted alert read off an alert topic (a partner's mistake, a forgery) is not
    folded into the register every agency reads: nothing of it is written."""
    restricted = xuzhou_alert(agreement, "NEED_TO_KNOW", [HUAIBEI])
    broadcast_raw = json.loads((FIXTURES / "vehicle_alert_jining.json").read_text("utf-8"))
    broadcast = parse_event(broadcast_raw, agreement)
    assert isinstance(broadcast, ExchangeEvent)
    producer = _RegisterProducer()
    register = AlertRegister()
    writer = RegisterWriter(register, producer, "hx.alerts.register")
    for offset, event in enumerate((restricted, broadcast)):
        writer.handle(
            Delivery(
                topic="hx.alerts.person",
                partition=0,
                offset=offset,
                key=b"k",
                value=b"",
                header_list=[],
                headers={},
                envelope=event.envelope,
                event_type=event.event_type,
                record=event.record,
                timestamp=event.envelope.created_at,
            )
        )
    writer.flush()
    written = b"".join(producer.values).decode()
    assert (1, False) == (len(producer.states), restricted.record["alert_id"] in written)
    assert register.get(restricted.record["alert_id"]) is None


def test_request_naming_a_restricted_alert_to_others_is_refused(agreement: Agreement) -> None:
    """A request that links Xuzhou's need-to-know alert, sent to an agency outside its
    share_with, is refused naming the field; to a recipient it goes."""
    raw = json.loads((FIXTURES / "assistance_request_xuzhou.json").read_text(encoding="utf-8"))
    request = parse_event(raw, agreement)
    assert isinstance(request, ExchangeEvent)
    alert = xuzhou_alert(agreement, "NEED_TO_KNOW", [HUAIBEI])
    book = AudienceBook()
    book.note(alert.event_type, alert.record)
    linked = {**request.record, "linked_alerts": [alert.record["alert_id"]]}
    outside = ExchangeEvent(request.envelope, {**linked, "target_agencies": [JINING]})
    inside = ExchangeEvent(request.envelope, {**linked, "target_agencies": [HUAIBEI]})
    with pytest.raises(ValidationFailed) as refused:
        routes(outside, agreement, book)
    assert [("linked_alerts[0]", f"names a need-to-know alert not shared with {JINING}")] == [
        (i.path, i.rule) for i in refused.value.issues
    ]
    # (and the sender's copy into Xuzhou's own inbox: Xuzhou issued the alert)
    assert [inbox_topic(HUAIBEI), inbox_topic(XUZHOU)] == [
        r.topic for r in routes(inside, agreement, book)
    ]


def test_audience_book_forgets_the_oldest_past_its_limit(agreement: Agreement) -> None:
    """A bounded book keeps the latest alerts; the oldest is no longer known."""
    first = xuzhou_alert(agreement, "NEED_TO_KNOW", [HUAIBEI])
    book = AudienceBook(limit=1)
    book.note(first.event_type, first.record)
    book.add(broadcast_audience("another-alert", "PERSON", XUZHOU))
    assert (None, True) == (
        book.get(first.record["alert_id"]),
        book.get("another-alert") is not None,
    )
