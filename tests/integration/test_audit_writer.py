"""The audit writer on the real broker: records decode from the topic, keyed by alert."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from topic_reading import partitions_of, read_records

from bridge.audit_writer import (
    AUDIT_RECORD_TYPE,
    AuditOutcome,
    AuditScope,
    AuditWriter,
    audit_codec,
)
from bridge.profiles.base import LocalMessage
from bridge.sinks import KafkaSink
from runtime import Settings
from runtime.kafka import Admin, GroupMetadata, NewTopic, Record, TopicPartition
from schemas import Envelope

pytestmark = pytest.mark.broker

PARTITIONS = 3
SCOPE = AuditScope(province="JS", profile="jiangsu", profile_version="1.0", sink="directory")


def read_all(settings: Settings, topic: str) -> list[Record]:
    """Every committed record of ``topic``, once no transaction is open on it."""
    return read_records(settings, partitions_of(topic, PARTITIONS), settled=True)


def audit_of(event_type: str, record: dict[str, Any]) -> dict[str, Any]:
    return SCOPE.record(
        Envelope(event_type, "320300000000"),
        value=uuid.uuid4().bytes,
        outcome=AuditOutcome.DELIVERED,
        record=record,
    )


def test_records_decode_from_the_topic_with_one_alert_in_one_partition(
    settings: Settings, admin: Admin, unique_name: Callable[..., str]
) -> None:
    """Flushed audit records are on the topic, decode unchanged, an alert's in one partition."""
    topic = unique_name("audit")
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    alert_id, request_id = str(uuid.uuid4()), str(uuid.uuid4())
    written = [
        audit_of("PersonAlert", {"alert_id": alert_id}),
        audit_of("AlertHit", {"alert_id": alert_id, "hit_id": str(uuid.uuid4())}),
        audit_of("AssistanceRequest", {"request_id": request_id}),
    ]
    with AuditWriter(settings, topic=topic) as writer:
        for record in written:
            writer.write(record)
        writer.flush()
        on_topic = read_all(settings, topic)

    decoded = [
        (m.partition, m.key, dict(m.headers), audit_codec().decode(m.value)) for m in on_topic
    ]
    by_id = {record["audit_id"]: (partition, key) for partition, key, _, (_, record) in decoded}
    assert [AUDIT_RECORD_TYPE] * 3 == [event_type for *_, (event_type, _) in decoded]
    assert sorted(written, key=lambda r: r["audit_id"]) == sorted(
        (record for *_, (_, record) in decoded), key=lambda r: r["audit_id"]
    )
    assert [r["audit_id"].encode() for *_, (_, r) in decoded] == [
        h["ce_id"] for _, _, h, _ in decoded
    ]
    partitions = [by_id[r["audit_id"]][0] for r in written]
    keys = [by_id[r["audit_id"]][1] for r in written]
    assert (partitions[0], [alert_id.encode(), alert_id.encode(), request_id.encode()]) == (
        partitions[1],
        keys,
    )


def test_records_written_through_a_kafka_sink_commit_with_its_transaction(
    settings: Settings, admin: Admin, unique_name: Callable[..., str]
) -> None:
    """Given the Kafka sink as producer, audit records show only when the batch commits."""
    audit_topic, local, source = unique_name("audit"), unique_name("local"), unique_name("src")
    admin.create_topics([NewTopic(name, PARTITIONS, 1) for name in (audit_topic, local, source)])
    group = unique_name("g")
    sink = KafkaSink(settings, local, unique_name("txn"))
    writer = AuditWriter(settings, topic=audit_topic, producer=sink)

    def deliver_and_audit(text: str) -> dict[str, Any]:
        envelope = Envelope("PersonAlert", "320300000000")
        local_message = LocalMessage(f"{envelope.message_id}.json", text.encode(), "text/plain")
        result = sink.deliver(local_message, envelope)
        record = SCOPE.record(
            envelope, value=b"v", outcome=AuditOutcome.DELIVERED, local=local_message, result=result
        )
        writer.write(record)
        writer.flush()
        return record

    deliver_and_audit("aborted")
    sink.abort()
    committed = deliver_and_audit("committed")
    sink.commit_offsets({TopicPartition(source, 0): 1}, GroupMetadata(group))
    writer.close()
    sink.close()

    visible = [audit_codec().decode(m.value)[1] for m in read_all(settings, audit_topic)]
    assert [committed] == visible
    assert [b"committed"] == [m.value for m in read_all(settings, local)]
