"""consumers.RegisterWriter: one write per changed alert per batch, kept until acknowledged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consumers import Delivery
from consumers.alert_register import AlertRegister, RegisterWriter
from runtime.kafka import TopicPartition
from schemas import Envelope
from schemas.errors import BrokerError, BrokerUnavailable

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
ALERT = "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31"


class _Future:
    def __init__(self, error: Exception | None) -> None:
        self._error = error

    def get(self, timeout_s: float | None = None) -> Any:
        if self._error is not None:
            raise self._error
        return None


class Producer:
    """Records sends; fails them while ``failing`` is set (a broker that is away)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, Any]]] = []
        self.failing = False

    def send(self, topic: str, *, key: bytes, value: bytes) -> _Future:
        if not self.failing:
            self.sent.append((topic, key, json.loads(value)))
        return _Future(BrokerUnavailable("broker away") if self.failing else None)

    def flush(self, timeout_s: float | None = None) -> None:
        return None


def delivery(event_type: str, record: dict[str, Any], offset: int) -> Delivery:
    envelope = Envelope(
        event_type=event_type,
        source="320300000000",
        message_id=f"00000000-0000-4000-8000-{offset:012d}",
        created_at=NOW,
    )
    return Delivery(
        topic="hx.alerts.person",
        partition=0,
        offset=offset,
        key=ALERT.encode(),
        value=b"",
        header_list=[],
        headers={},
        envelope=envelope,
        event_type=event_type,
        record=record,
        timestamp=NOW,
    )


def alert(revision: int) -> dict[str, Any]:
    return {
        "alert_id": ALERT,
        "revision": revision,
        "category": "WANTED",
        "subject": {"id_number": "320311198001010019"},
        "issuing_agency": "320300000000",
        "issued_at": NOW,
        "valid_until": NOW + timedelta(days=30),
        "handling": "SHARE_ALL_PARTNERS",
        "related_alerts": [],
    }


@pytest.fixture
def producer() -> Producer:
    return Producer()


@pytest.fixture
def writer(producer: Producer) -> RegisterWriter:
    return RegisterWriter(AlertRegister(clock=lambda: NOW), producer, "hx.alerts.register")


def test_batch_writes_the_latest_state_of_each_alert_once(
    writer: RegisterWriter, producer: Producer
) -> None:
    """Two revisions in one batch: one write, revision 2, keyed by alert_id."""
    writer.handle(delivery("PersonAlert", alert(1), 10))
    writer.handle(delivery("PersonAlert", alert(2), 11))
    writer.flush()
    assert [("hx.alerts.register", ALERT.encode(), 2, "hx.alerts.person/0@11")] == [
        (topic, key, value["revision"], value["position"]) for topic, key, value in states(producer)
    ]


def test_failed_write_is_written_with_the_redelivered_batch(
    writer: RegisterWriter, producer: Producer
) -> None:
    """The broker refuses the write: flush raises (retriable); the redelivered batch folds
    to no change, and its flush still writes the state."""
    message = delivery("PersonAlert", alert(1), 10)
    writer.handle(message)
    producer.failing = True
    with pytest.raises(BrokerError) as failed:
        writer.flush()
    producer.failing = False
    writer.handle(message)
    writer.flush()
    assert (True, [1]) == (failed.value.retriable, [v["revision"] for _, _, v in states(producer)])


def test_nothing_changed_nothing_written(writer: RegisterWriter, producer: Producer) -> None:
    """A redelivered message already folded and written causes no second write."""
    message = delivery("PersonAlert", alert(1), 10)
    writer.handle(message)
    writer.flush()
    writer.handle(message)
    writer.flush()
    assert 1 == len(states(producer))


def test_a_batch_marks_each_partition_read_after_its_states(
    writer: RegisterWriter, producer: Producer
) -> None:
    """After the states, one read mark per partition, through the last offset handled,
    a message that changed nothing included."""
    writer.handle(delivery("PersonAlert", alert(1), 10))
    writer.handle(delivery("PersonAlert", alert(1), 12))  # the same alert again: no change
    writer.flush()
    assert [
        (ALERT.encode(), "state"),
        (b"@read:hx.alerts.person/0", {"read_through": "hx.alerts.person/0@12"}),
    ] == [(key, "state" if "position" in value else value) for _, key, value in producer.sent]


def test_no_mark_while_the_states_are_not_acknowledged(
    writer: RegisterWriter, producer: Producer
) -> None:
    """A refused state write writes no mark (a mark never vouches for an unwritten
    state); the same mark is not written twice."""
    writer.handle(delivery("PersonAlert", alert(1), 10))
    producer.failing = True
    with pytest.raises(BrokerError):
        writer.flush()
    producer.failing = False
    refused_batch = list(producer.sent)
    writer.handle(delivery("PersonAlert", alert(1), 10))
    writer.flush()
    writer.flush()
    assert ([], [b"@read:hx.alerts.person/0"]) == (
        refused_batch,
        [key for _, key, _ in producer.sent if key.startswith(b"@read:")],
    )


def test_a_mark_passes_what_the_runtime_settled_without_handing_it_over(
    producer: Producer,
) -> None:
    """Duplicates and dead letters never reach ``handle``; the runtime's position done for
    good (the next offset) carries the mark past them."""
    settled = {TopicPartition("hx.alerts.person", 0): 25, TopicPartition("hx.alerts.vehicle", 1): 7}
    writer = RegisterWriter(
        AlertRegister(clock=lambda: NOW), producer, "hx.alerts.register", settled=lambda: settled
    )
    writer.handle(delivery("PersonAlert", alert(1), 10))
    writer.flush()
    assert [
        (b"@read:hx.alerts.person/0", "hx.alerts.person/0@24"),
        (b"@read:hx.alerts.vehicle/1", "hx.alerts.vehicle/1@6"),
    ] == [(key, value["read_through"]) for _, key, value in producer.sent if b"@read:" in key]


def states(producer: Producer) -> list[tuple[str, bytes, dict[str, Any]]]:
    """The alert states sent (read marks left out)."""
    return [sent for sent in producer.sent if not sent[1].startswith(b"@read:")]
