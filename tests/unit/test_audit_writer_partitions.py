"""AuditWriter with its own producer: each record goes to the partition kafka-python's
default partitioner would choose for its key (chosen once per key and batch), and flush
returns only when every record was acknowledged.

The writer's choice is compared with ``runtime.kafka.partition_for_key``, which
test_kafka_partitioner.py checks against kafka-python's DefaultPartitioner itself (only
the Kafka boundary's tests import the client: test_kafka_imports.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

import bridge.audit_writer as audit_writer
from bridge.audit_writer import AuditWriter, audit_key
from runtime import Settings
from runtime.kafka import partition_for_key
from schemas.errors import BrokerUnavailable

RECORDED = datetime(2026, 12, 5, 12, 0, 0, 123000, tzinfo=UTC)


class Future:
    """A send's outcome: acknowledged, failed, or still pending (then ``get`` waits)."""

    def __init__(self, error: BaseException | None = None, *, done: bool = True) -> None:
        self.is_done = done
        self.error = error
        self.waited = False

    def get(self, timeout_s: float | None = None) -> Any:
        self.waited = True
        if self.error is not None:
            raise self.error
        return None


class OwnProducer:
    """The writer's own producer (``runtime.kafka.Producer`` shape): keeps the partition
    each record was sent to; the topic has ``partitions``."""

    def __init__(self, partitions: frozenset[int]) -> None:
        self.partitions = partitions
        self.sent: list[tuple[bytes | None, int | None]] = []
        self.partitions_asked = 0
        self.outcomes: list[Future] = []

    def flush(self, timeout_s: float | None = None) -> None:
        return None

    def send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: Any = None,
        partition: int | None = None,
    ) -> Any:
        self.sent.append((key, partition))
        return self.outcomes.pop(0) if self.outcomes else Future()

    def partitions_for(self, topic: str) -> frozenset[int]:
        self.partitions_asked += 1
        return self.partitions


def record(alert_id: str | None, message_id: str, audit_id: str) -> dict[str, Any]:
    return {
        "audit_id": audit_id,
        "recorded_at": RECORDED,
        "message_id": message_id,
        "event_type": "PersonAlert" if alert_id else "AssistanceRequest",
        "alert_id": alert_id,
        "hit_id": None,
        "request_id": None,
        "alert_kind": "PERSON" if alert_id else None,
        "correlation_id": None,
        "source_agency": "320300000000",
        "recipient_agency": "370400000000",
        "province": "SD",
        "sink": "DIRECTORY",
        "destination": None,
        "outcome": "DELIVERED",
        "reason": None,
        "profile": "shandong",
        "profile_version": "1.0",
        "truncated_fields": [],
        "dropped_fields": [],
        "value_sha256": "0" * 64,
        "local_sha256": None,
        "delivered_at": RECORDED,
        "latency_ms": 5,
        "source_topic": "hx.alerts.person",
        "source_partition": 0,
        "source_offset": 7,
    }


def batch(count: int) -> list[dict[str, Any]]:
    """``count`` records: every third one without an alert id (keyed by message id), and
    each alert's record twice (two receiving agencies: one key, two records)."""
    out = []
    for i in range(count):
        alert = str(uuid.UUID(int=i * 7919 + 1)) if i % 3 else None
        message = str(uuid.UUID(int=i * 104729 + 2))
        out.append(record(alert, message, str(uuid.UUID(int=2 * i + 3))))
        if alert:
            out.append(record(alert, message, str(uuid.UUID(int=2 * i + 4))))
    return out


@pytest.mark.parametrize(
    "partitions",
    [frozenset(range(3)), frozenset(range(6)), frozenset({0, 1, 2, 5, 9})],
    ids=["3", "6", "gaps"],
)
def test_each_record_goes_where_kafka_pythons_default_partitioner_puts_its_key(
    monkeypatch: pytest.MonkeyPatch, partitions: frozenset[int]
) -> None:
    """The explicit partition of each record is its key's (the default partitioner's)."""
    producer = OwnProducer(partitions)
    monkeypatch.setattr(audit_writer, "open_producer", lambda *_args: producer)
    records = batch(60)
    AuditWriter(Settings(), topic="hx.audit").write_many(records)
    expected = [(key, partition_for_key(key, partitions)) for key in map(audit_key, records)]
    assert expected == producer.sent


def test_the_partitions_are_read_once_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The topic's partitions are read at a batch's first write and again after each
    flush (a partition added later is used); single writes (refusals) read them once."""
    producer = OwnProducer(frozenset(range(3)))
    monkeypatch.setattr(audit_writer, "open_producer", lambda *_args: producer)
    writer = AuditWriter(Settings(), topic="hx.audit")
    for one in batch(4):
        writer.write(one)
    writer.write_many(batch(10))
    first = producer.partitions_asked
    writer.flush()
    producer.partitions = frozenset(range(6))
    second = batch(10)
    writer.write_many(second)
    expected = [(key, partition_for_key(key, range(6))) for key in map(audit_key, second)]
    assert (1, 2, expected) == (
        first,
        producer.partitions_asked,
        producer.sent[-len(second) :],
    )


def test_flush_raises_when_one_record_was_not_acknowledged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch whose third record failed: flush raises that record's error."""
    producer = OwnProducer(frozenset(range(3)))
    producer.outcomes = [Future(), Future(), Future(BrokerUnavailable("not acknowledged"))]
    monkeypatch.setattr(audit_writer, "open_producer", lambda *_args: producer)
    writer = AuditWriter(Settings(), topic="hx.audit")
    writer.write_many(batch(4))
    with pytest.raises(BrokerUnavailable, match="not acknowledged"):
        writer.flush()


def test_flush_waits_for_a_record_still_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    """A record not yet answered after the producer's flush is waited for (get)."""
    producer = OwnProducer(frozenset(range(3)))
    pending, answered = Future(done=False), Future()
    producer.outcomes = [answered, pending]
    monkeypatch.setattr(audit_writer, "open_producer", lambda *_args: producer)
    writer = AuditWriter(Settings(), topic="hx.audit")
    writer.write_many(batch(2))
    writer.flush()
    assert (False, True) == (answered.waited, pending.waited)
