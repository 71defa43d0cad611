"""Audit records on hx.audit carry a complete CloudEvent in Kafka headers."""

from __future__ import annotations

from datetime import UTC, datetime

from cloudevents.core.bindings import kafka as cloudevents_kafka

from bridge.audit_writer import audit_headers
from consumers import dead_letter_headers

RECORD = {
    "audit_id": "5b3f0b8e-4c1d-5e2f-8a9b-0c1d2e3f4a5b",
    "province": "JS",
    "recorded_at": datetime(2026, 11, 20, 1, 15, 0, 250000, tzinfo=UTC),
}


def test_audit_headers_are_a_complete_cloudevent() -> None:
    """Spec version, id, the writing bridge as source, type, time and content type."""
    record = RECORD
    assert [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"5b3f0b8e-4c1d-5e2f-8a9b-0c1d2e3f4a5b"),
        ("ce_source", b"bridge-js"),
        ("ce_type", b"AuditRecord"),
        ("ce_time", b"2026-11-20T01:15:00.250Z"),
        ("content-type", b"application/avro"),
    ] == audit_headers(record)


def test_cloudevents_sdk_reads_an_audit_record() -> None:
    """The CloudEvents SDK's Kafka binding reads the audit headers as a v1.0 event."""
    message = cloudevents_kafka.KafkaMessage(
        headers=dict(audit_headers(RECORD)), key=None, value=b"\xc3\x01"
    )
    event = cloudevents_kafka.from_binary_event(message)
    assert ("1.0", "bridge-js", "AuditRecord", RECORD["recorded_at"]) == (
        event.get_attributes()["specversion"],
        event.get_source(),
        event.get_type(),
        event.get_time(),
    )


def test_cloudevents_sdk_reads_a_dlq_entry_of_garbage() -> None:
    """A DLQ entry of a message without headers reads as a DeadLetter event of the group."""
    headers = dead_letter_headers(
        [],
        error=ValueError("not Avro"),
        reason="bad_magic",
        topic="hx.inbox.320300000000",
        partition=0,
        offset=5,
        group="hx.bridge.js",
        now=datetime(2026, 11, 20, 1, 15, tzinfo=UTC),
    )
    message = cloudevents_kafka.KafkaMessage(headers=dict(headers), key=None, value=b"junk")
    event = cloudevents_kafka.from_binary_event(message)
    assert ("hx.bridge.js", "DeadLetter", "application/octet-stream") == (
        event.get_source(),
        event.get_type(),
        event.get_attributes()["datacontenttype"],
    )
