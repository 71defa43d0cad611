"""The demo's latency fixes (issue 17): what a desk stamps, and what the lookup service reads.

A desk that stamps its events as it makes them (the demo's) gives the Publisher a
``restamp``: an event whose duplicate check waited for the lookup service leaves with the
time it left, not the time the question was asked. Without ``restamp`` (``hxbus
publish``) an event keeps its own time. The lookup service decodes and verifies only
the inbox records whose headers could make them an issuer copy.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from consumers.alert_register import AlertRegister
from consumers.lookup.service import LookupIndex, _fold_record
from producers import Publisher, SyntheticTraffic, stamped_at
from runtime import Settings
from schemas import Agreement, ExchangeEvent, new_message_id
from schemas.lookup import LookupReply

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
LATER = timedelta(milliseconds=250)
XUZHOU, JINING = "320300000000", "370800000000"


class _Future:
    is_done = True

    def get(self, timeout: float | None = None) -> Any:
        return SimpleNamespace(partition=0, offset=0)


class _Producer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, topic: str, **kwargs: Any) -> _Future:
        self.sent.append({"topic": topic, **kwargs})
        return _Future()

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        return None


class _NoHit:
    """A lookup service that answers no hit, and counts the questions."""

    def __init__(self) -> None:
        self.asked = 0

    def ask(self, subject_key: str) -> LookupReply | None:
        self.asked += 1
        return LookupReply(str(uuid.uuid4()))


@pytest.fixture(scope="module")
def person_alert(agreement: Agreement) -> ExchangeEvent:
    event = next(
        e
        for e in SyntheticTraffic(agreement, seed=11, start=START)
        if e.event_type == "PersonAlert"
    )
    record = copy.deepcopy(event.record)
    now = datetime.now(UTC).replace(microsecond=0)
    record.update(
        alert_id=str(uuid.uuid4()),
        revision=1,
        issuing_agency=XUZHOU,
        issued_at=now - timedelta(hours=1),
        valid_until=now + timedelta(days=30),
        related_alerts=[],
        handling="SHARE_ALL_PARTNERS",
        share_with=[],
    )
    envelope = event.envelope.evolve(source=XUZHOU, message_id=new_message_id(), created_at=now)
    return ExchangeEvent(envelope, record)


def _need_to_know(alert: ExchangeEvent) -> ExchangeEvent:
    record = {**alert.record, "handling": "NEED_TO_KNOW", "share_with": [JINING]}
    return ExchangeEvent(alert.envelope, record)


def _sent_times(producer: _Producer) -> set[bytes]:
    return {dict(m["headers"])["ce_time"] for m in producer.sent}


def _restamp_later(event: ExchangeEvent) -> ExchangeEvent:
    return stamped_at(event, event.envelope.created_at + LATER)


def _publisher(agreement: Agreement, producer: _Producer, lookup: _NoHit, **kw: Any) -> Publisher:
    return Publisher(
        Settings(), agreement, producer=producer, live_alerts=AlertRegister(), lookup=lookup, **kw
    )


def test_alert_held_by_the_lookup_leaves_with_the_time_it_left(
    agreement: Agreement, person_alert: ExchangeEvent
) -> None:
    """A need-to-know alert whose check asked the lookup is sent restamped, every copy."""
    producer, lookup = _Producer(), _NoHit()
    alert = _need_to_know(person_alert)
    outcome = next(
        _publisher(agreement, producer, lookup, restamp=_restamp_later).publish_many([alert])
    )
    left = alert.envelope.created_at + LATER
    expected = (1, {left.isoformat(timespec="milliseconds").replace("+00:00", "Z").encode()}, left)
    assert expected == (lookup.asked, _sent_times(producer), outcome.event.envelope.created_at)


def test_alert_not_held_keeps_its_time(agreement: Agreement, person_alert: ExchangeEvent) -> None:
    """A broadcast alert (no lookup) keeps its created_at even with a restamp given."""
    producer, lookup = _Producer(), _NoHit()
    outcome = next(
        _publisher(agreement, producer, lookup, restamp=_restamp_later).publish_many([person_alert])
    )
    assert (0, person_alert.envelope.created_at) == (
        lookup.asked,
        outcome.event.envelope.created_at,
    )


def test_without_restamp_an_alert_keeps_its_own_time(
    agreement: Agreement, person_alert: ExchangeEvent
) -> None:
    """hxbus publish gives no restamp: the event's own time goes out after a lookup too."""
    producer, lookup = _Producer(), _NoHit()
    alert = _need_to_know(person_alert)
    outcome = next(_publisher(agreement, producer, lookup).publish_many([alert]))
    assert (1, alert.envelope.created_at) == (lookup.asked, outcome.event.envelope.created_at)


@dataclass
class _Record:
    headers: list[tuple[str, bytes]]
    value: bytes = b"not avro"
    topic: str = "hx.inbox.320300000000"
    partition: int = 0
    offset: int = 0
    key: bytes | None = None


@dataclass
class _CountingReader:
    read_records: list[_Record] = field(default_factory=list)

    def read(self, record: _Record) -> object:
        self.read_records.append(record)
        return object()  # not a Delivery: nothing is folded


@pytest.mark.parametrize(
    ("headers", "read"),
    [
        ([("ce_type", b"AlertHit"), ("ce_source", b"1"), ("ce_hxtarget", b"1")], False),
        ([("ce_type", b"PersonAlert"), ("ce_source", b"1"), ("ce_hxtarget", b"2")], False),
        ([("ce_type", b"PersonAlert"), ("ce_source", b"1")], False),
        ([("ce_type", b"PersonAlert"), ("ce_source", b""), ("ce_hxtarget", b"")], False),
        ([("ce_type", b"PersonAlert"), ("ce_source", b"1"), ("ce_hxtarget", b"1")], True),
        ([("ce_type", b"AlertStatusChange"), ("ce_source", b"1"), ("ce_hxtarget", b"1")], True),
        ([("ce_type", b"VehicleAlert"), ("ce_hxtarget", b"1"), ("ce_source", b"1")], True),
    ],
)
def test_lookup_service_reads_only_possible_issuer_copies(
    headers: list[tuple[str, bytes]], read: bool
) -> None:
    """Only an alert or status change addressed to its own source is decoded and verified."""
    reader = _CountingReader()
    record = _Record(headers)
    folded = _fold_record(LookupIndex(b"k" * 32), reader, record)  # type: ignore[arg-type]
    assert (None, [record] if read else []) == (folded, reader.read_records)


def test_lookup_warm_up_connects_once_and_a_refused_connection_leaves_alerts_unchecked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """warm_up opens the client before any question; when it cannot, the run goes on
    unchecked and does not try again at the next question."""
    from producers import lookup_client
    from schemas.errors import BrokerUnavailable

    opened: list[str] = []

    def refuse(settings: Settings, agency: str, **_: Any) -> lookup_client.LookupClient:
        opened.append(agency)
        raise BrokerUnavailable("no broker")

    monkeypatch.setattr(lookup_client, "LookupClient", refuse)
    lookup = lookup_client.LazyLookup(Settings(), XUZHOU)
    lookup.warm_up()
    assert ([XUZHOU], None, [XUZHOU]) == (list(opened), lookup.ask("person:x"), opened)
