"""The duplicate check before entry, in the Publisher (a recording producer stands in).

One live alert per subject per agency: a second one from the same agency is refused
naming the first; one from another agency goes out linked to it (``related_alerts``).
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from consumers.alert_register import AlertRegister
from producers import Publisher, SyntheticTraffic
from runtime import Settings
from schemas import Agreement, Codec, ExchangeEvent, new_message_id
from schemas.errors import DuplicateAlert, ValidationFailed
from schemas.rules import make_identity_number

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
XUZHOU, JINING = "320300000000", "370800000000"


class _Future:
    """Acknowledged when asked: until then the event stays in flight (pipelined)."""

    def __init__(self, offset: int) -> None:
        self._offset = offset
        self.is_done = False

    def get(self, timeout: float | None = None) -> Any:
        self.is_done = True
        return SimpleNamespace(partition=0, offset=self._offset)


class RecordingProducer:
    """Takes every send at once, as a broker that acknowledges everything would."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, topic: str, **kwargs: Any) -> _Future:
        self.sent.append({"topic": topic, **kwargs})
        return _Future(len(self.sent) - 1)

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        return None


@pytest.fixture(scope="module")
def sample(agreement: Agreement) -> dict[str, ExchangeEvent]:
    first: dict[str, ExchangeEvent] = {}
    for event in SyntheticTraffic(agreement, seed=11, start=START).take(300):
        first.setdefault(event.event_type, event)
    return first


@pytest.fixture
def producer() -> RecordingProducer:
    return RecordingProducer()


@pytest.fixture
def live() -> AlertRegister:
    return AlertRegister()


@pytest.fixture
def publisher(agreement: Agreement, producer: RecordingProducer, live: AlertRegister) -> Publisher:
    return Publisher(Settings(), agreement, producer=producer, live_alerts=live)


def new_alert(
    template: ExchangeEvent, agency: str, *, revision: int = 1, alert_id: str | None = None
) -> ExchangeEvent:
    """``template`` as a new alert of ``agency``, in force for 30 days from now."""
    record = copy.deepcopy(template.record)
    now = datetime.now(UTC).replace(microsecond=0)
    record.update(
        alert_id=alert_id or str(uuid.uuid4()),
        revision=revision,
        issuing_agency=agency,
        issued_at=now - timedelta(hours=1),
        valid_until=now + timedelta(days=30),
        related_alerts=[],
    )
    envelope = template.envelope.evolve(source=agency, message_id=new_message_id())
    return ExchangeEvent(envelope, record)


def withdrawal(alert: ExchangeEvent) -> ExchangeEvent:
    record = {
        "alert_id": alert.record["alert_id"],
        "alert_kind": "PERSON" if alert.event_type == "PersonAlert" else "VEHICLE",
        "status": "WITHDRAWN",
        "reason": "已抓获",
        "changed_at": datetime.now(UTC).replace(microsecond=0),
        "agency": alert.record["issuing_agency"],
    }
    envelope = alert.envelope.evolve(event_type="AlertStatusChange", message_id=new_message_id())
    return ExchangeEvent(envelope, record)


def test_second_alert_of_the_same_agency_is_refused_naming_the_first(
    publisher: Publisher, producer: RecordingProducer, sample: dict[str, ExchangeEvent]
) -> None:
    """Same person, same agency: DuplicateAlert on subject.id_number naming the live alert."""
    first = new_alert(sample["PersonAlert"], XUZHOU)
    publisher.publish(first)
    with pytest.raises(DuplicateAlert) as refused:
        publisher.publish(new_alert(sample["PersonAlert"], XUZHOU))
    (issue,) = refused.value.issues
    assert (True, "subject.id_number", True, True, 1) == (
        isinstance(refused.value, ValidationFailed),
        issue.path,
        first.record["alert_id"] in issue.rule,
        "revise it instead" in issue.rule,
        len(producer.sent),
    )


def test_second_vehicle_alert_on_a_plate_is_refused(
    publisher: Publisher, producer: RecordingProducer, sample: dict[str, ExchangeEvent]
) -> None:
    """Same plate, same agency: refused on plate.number; nothing more is sent."""
    first = new_alert(sample["VehicleAlert"], JINING)
    publisher.publish(first)
    outcomes = list(publisher.publish_many([new_alert(sample["VehicleAlert"], JINING)]))
    error = outcomes[0].error
    assert isinstance(error, DuplicateAlert)
    assert (["plate.number"], (), 1) == (
        [i.path for i in error.issues],
        outcomes[0].receipts,
        len(producer.sent),
    )


def test_alert_of_another_agency_is_sent_linked_to_the_first(
    publisher: Publisher, producer: RecordingProducer, sample: dict[str, ExchangeEvent]
) -> None:
    """Same person, another agency: published, related_alerts names the first alert."""
    first = new_alert(sample["PersonAlert"], XUZHOU)
    publisher.publish(first)
    publisher.publish(new_alert(sample["PersonAlert"], JINING))
    _, sent = Codec().decode(producer.sent[1]["value"])
    assert [first.record["alert_id"]] == sent["related_alerts"]


def test_alert_after_a_withdrawal_is_not_a_duplicate(
    publisher: Publisher, producer: RecordingProducer, sample: dict[str, ExchangeEvent]
) -> None:
    """Once the first alert is withdrawn, a new one on the subject goes out unlinked."""
    first = new_alert(sample["PersonAlert"], XUZHOU)
    publisher.publish(first)
    publisher.publish(withdrawal(first))
    publisher.publish(new_alert(sample["PersonAlert"], XUZHOU))
    _, sent = Codec().decode(producer.sent[2]["value"])
    assert (3, []) == (len(producer.sent), sent["related_alerts"])


def test_revision_and_resend_are_not_new_alerts(
    publisher: Publisher, producer: RecordingProducer, sample: dict[str, ExchangeEvent]
) -> None:
    """Revision 2 of the live alert, and revision 1 sent again, both go out."""
    first = new_alert(sample["PersonAlert"], XUZHOU)
    publisher.publish(first)
    alert_id = first.record["alert_id"]
    publisher.publish(new_alert(sample["PersonAlert"], XUZHOU, revision=2, alert_id=alert_id))
    publisher.publish(new_alert(sample["PersonAlert"], XUZHOU, alert_id=alert_id))
    assert 3 == len(producer.sent)


def test_two_alerts_on_one_subject_in_one_batch(
    publisher: Publisher, producer: RecordingProducer, sample: dict[str, ExchangeEvent]
) -> None:
    """Within one pipelined batch the second alert is refused: the publisher notes its own."""
    pair = [new_alert(sample["PersonAlert"], XUZHOU) for _ in range(2)]
    outcomes = list(publisher.publish_many(pair))
    assert ([True, False], 1) == ([o.ok for o in outcomes], len(producer.sent))


def test_legacy_fifteen_digit_number_is_the_same_person(
    publisher: Publisher, producer: RecordingProducer, sample: dict[str, ExchangeEvent]
) -> None:
    """A 15-digit first-generation number matches its 18-character form."""
    eighteen = make_identity_number("320311", date(1980, 1, 1), 1)
    fifteen = eighteen[:6] + eighteen[8:17]
    alerts = [new_alert(sample["PersonAlert"], XUZHOU) for _ in range(2)]
    for alert, number in zip(alerts, (eighteen, fifteen), strict=True):
        subject = alert.record["subject"]
        subject.update(id_number=number, birth_date=date(1980, 1, 1), sex="MALE")
    publisher.publish(alerts[0])
    with pytest.raises(DuplicateAlert):
        publisher.publish(alerts[1])


def test_without_live_alerts_nothing_is_checked(
    agreement: Agreement, producer: RecordingProducer, sample: dict[str, ExchangeEvent]
) -> None:
    """A Publisher built without a LiveAlerts (simulate, bench) sends both alerts."""
    publisher = Publisher(Settings(), agreement, producer=producer)
    for _ in range(2):
        publisher.publish(new_alert(sample["PersonAlert"], XUZHOU))
    assert 2 == len(producer.sent)
