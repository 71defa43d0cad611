"""Audit records on hx.audit carry a complete CloudEvent in Kafka headers."""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.audit import audit_headers


def test_audit_headers_are_a_complete_cloudevent() -> None:
    """Spec version, id, the writing bridge as source, type, time and content type."""
    record = {
        "audit_id": "5b3f0b8e-4c1d-5e2f-8a9b-0c1d2e3f4a5b",
        "province": "JS",
        "recorded_at": datetime(2026, 11, 20, 1, 15, 0, 250000, tzinfo=UTC),
    }
    assert [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"5b3f0b8e-4c1d-5e2f-8a9b-0c1d2e3f4a5b"),
        ("ce_source", b"bridge-js"),
        ("ce_type", b"AuditRecord"),
        ("ce_time", b"2026-11-20T01:15:00.250Z"),
        ("content-type", b"application/avro"),
    ] == audit_headers(record)
