"""Publisher: an invalid event never reaches ``send`` (a recording producer stands in)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from producers import Publisher, SyntheticTraffic
from runtime import Settings
from schemas import Agreement, ExchangeEvent
from schemas.errors import ValidationFailed

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


class RecordingProducer:
    """Records send calls; used only to prove that send is NOT called."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def send(self, topic: str, **kwargs: Any) -> Any:
        self.sent.append((topic, kwargs))
        raise AssertionError("send must not be called for an invalid event")

    def flush(self, timeout: float | None = None) -> None:
        return None


@pytest.fixture
def producer() -> RecordingProducer:
    return RecordingProducer()


@pytest.fixture
def publisher(agreement: Agreement, producer: RecordingProducer) -> Publisher:
    return Publisher(Settings(), agreement, producer=producer)


@pytest.fixture(scope="module")
def sample(agreement: Agreement) -> dict[str, ExchangeEvent]:
    first: dict[str, ExchangeEvent] = {}
    for event in SyntheticTraffic(agreement, seed=9, start=START).take(300):
        first.setdefault(event.event_type, event)
    return first


def _broken_vin(event: ExchangeEvent) -> ExchangeEvent:
    record = copy.deepcopy(event.record)
    vin = record["vin"]
    record["vin"] = vin[:8] + ("0" if vin[8] != "0" else "1") + vin[9:]
    return ExchangeEvent(event.envelope, record)


def test_invalid_event_is_reported_and_not_sent(
    publisher: Publisher, producer: RecordingProducer, sample: dict[str, ExchangeEvent]
) -> None:
    """A VIN with a wrong check digit: the outcome carries the issue, send is never called."""
    outcomes = list(publisher.publish_many([_broken_vin(sample["VehicleAlert"])]))
    error = outcomes[0].error
    assert isinstance(error, ValidationFailed)
    assert (["data.vin"], (), []) == (
        [i.path for i in error.issues],
        outcomes[0].receipts,
        producer.sent,
    )


def test_untargeted_hit_is_not_sent(
    publisher: Publisher, producer: RecordingProducer, sample: dict[str, ExchangeEvent]
) -> None:
    """A hit that does not say whose inbox it goes to is refused before send."""
    hit = sample["AlertHit"]
    untargeted = ExchangeEvent(hit.envelope.evolve(target=None), hit.record)
    with pytest.raises(ValidationFailed) as failed:
        publisher.publish(untargeted)
    assert (["hxtarget"], []) == ([i.path for i in failed.value.issues], producer.sent)


def test_unknown_source_is_not_sent(
    publisher: Publisher, producer: RecordingProducer, sample: dict[str, ExchangeEvent]
) -> None:
    """A source outside the agreement is refused before send, naming source."""
    alert = sample["PersonAlert"]
    stranger = ExchangeEvent(alert.envelope.evolve(source="110100000000"), alert.record)
    with pytest.raises(ValidationFailed) as failed:
        publisher.publish(stranger)
    assert (["source"], []) == ([i.path for i in failed.value.issues], producer.sent)
