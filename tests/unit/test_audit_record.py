"""Audit records: what one record says about a delivery or a refusal, and its encoding."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.audit_record import uuid5_text
from bridge.audit_writer import (
    AUDIT_ID_NAMESPACE,
    AUDIT_RECORD_TYPE,
    AuditOutcome,
    AuditScope,
    audit_codec,
    audit_key,
    outcome_of_delivery,
    outcome_of_error,
)
from bridge.profiles.base import LocalMessage
from bridge.sinks import DeliveryOutcome, DeliveryResult
from schemas import Envelope
from schemas.errors import (
    DecodeError,
    SecurityError,
    SinkConflict,
    SinkRejected,
    TranslationError,
)

ALERT_ID = "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31"
HIT_ID = "5d2c7a8e-1f3b-4e6a-9c0d-2b4f6a8c0e13"
CREATED = datetime(2026, 11, 20, 1, 15, 2, 123000, tzinfo=UTC)


class Position(NamedTuple):
    """Where a message was read (what a consumer Delivery or a DLQ Origin provides)."""

    topic: str
    partition: int
    offset: int


SCOPE = AuditScope(province="HA", profile="henan", profile_version="1.0", sink="directory")


def envelope(event_type: str = "PersonAlert", target: str | None = None) -> Envelope:
    return Envelope(
        event_type=event_type,
        source="320300000000",
        message_id="6f1c1d7e-2b1a-4c55-9a51-0c7e3f4f9a10",
        created_at=CREATED,
        correlation_id="c0ffee00-0000-4000-8000-000000000001",
        target=target,
    )


def delivered_person_alert() -> dict[str, Any]:
    local = LocalMessage(
        "6f1c1d7e-2b1a-4c55-9a51-0c7e3f4f9a10.dat",
        "RYBK 王小".encode("gb18030"),
        "text/plain; charset=gb18030",
        truncated=("reason",),
        dropped=("subject.aliases", "subject.photos"),
    )
    result = DeliveryResult(
        DeliveryOutcome.DELIVERED,
        "directory",
        local.file_name,
        CREATED + timedelta(milliseconds=850),
    )
    return SCOPE.record(
        envelope(),
        value=b"\xc3\x01avro-bytes",
        outcome=outcome_of_delivery(result),
        record={"alert_id": ALERT_ID, "revision": 1},
        local=local,
        result=result,
        position=Position("hx.alerts.person", 4, 1234),
        recorded_at=CREATED + timedelta(seconds=1),
    )


def test_a_delivery_record_names_ids_losses_hashes_and_latency() -> None:
    """A delivered alert's record carries who, where, what was lost, hashes and latency."""
    record = delivered_person_alert()
    expected = {
        "message_id": "6f1c1d7e-2b1a-4c55-9a51-0c7e3f4f9a10",
        "event_type": "PersonAlert",
        "alert_id": ALERT_ID,
        "hit_id": None,
        "request_id": None,
        "alert_kind": "PERSON",
        "source_agency": "320300000000",
        "recipient_agency": None,
        "province": "HA",
        "sink": "DIRECTORY",
        "destination": "6f1c1d7e-2b1a-4c55-9a51-0c7e3f4f9a10.dat",
        "outcome": "DELIVERED",
        "reason": None,
        "profile": "henan",
        "profile_version": "1.0",
        "truncated_fields": ["reason"],
        "dropped_fields": ["subject.aliases", "subject.photos"],
        "value_sha256": hashlib.sha256(b"\xc3\x01avro-bytes").hexdigest(),
        "local_sha256": hashlib.sha256("RYBK 王小".encode("gb18030")).hexdigest(),
        "latency_ms": 850,
        "source_topic": "hx.alerts.person",
        "source_partition": 4,
        "source_offset": 1234,
    }
    assert expected == {name: record[name] for name in expected}


def test_the_record_encodes_and_decodes_unchanged() -> None:
    """The audit codec writes single-object Avro that decodes to the same record."""
    record = delivered_person_alert()
    value = audit_codec().encode(AUDIT_RECORD_TYPE, record)
    assert (b"\xc3\x01", (AUDIT_RECORD_TYPE, record)) == (value[:2], audit_codec().decode(value))


def test_audit_id_is_the_same_when_the_same_fact_is_recorded_again() -> None:
    """A record rewritten after a crash keeps its audit_id; another outcome gets another."""
    first = delivered_person_alert()
    again = delivered_person_alert()
    duplicate = SCOPE.record(envelope(), value=b"x", outcome=AuditOutcome.DUPLICATE)
    assert first["audit_id"] == again["audit_id"]
    assert first["audit_id"] != duplicate["audit_id"]
    assert str(uuid.UUID(first["audit_id"])) == first["audit_id"]


def test_a_dead_lettered_message_without_record_takes_its_id_from_the_key() -> None:
    """A message that never decoded is audited with the business id its Kafka key holds."""
    record = SCOPE.record(
        envelope("AlertHit", target="411400000000"),
        value=b"garbage",
        outcome=outcome_of_error(DecodeError("not avro")),
        key=HIT_ID.encode(),
        reason="undecodable: not avro",
    )
    expected = {
        "alert_id": None,
        "hit_id": HIT_ID,
        "alert_kind": None,
        "recipient_agency": "411400000000",
        "outcome": "DEAD_LETTERED",
        "reason": "undecodable: not avro",
        "delivered_at": None,
        "local_sha256": None,
    }
    assert expected == {name: record[name] for name in expected}
    assert HIT_ID.encode() == audit_key(record)


def test_a_key_that_is_not_a_uuid_leaves_the_business_id_empty() -> None:
    """A forged key cannot plant an id in the audit trail: it is no uuid, so it stays null."""
    record = SCOPE.record(
        envelope(), value=b"x", outcome=AuditOutcome.SECURITY_REJECTED, key=b"not-a-uuid"
    )
    assert (None, record["message_id"].encode()) == (record["alert_id"], audit_key(record))


def test_records_of_a_hit_are_keyed_by_its_alert() -> None:
    """A hit's record is keyed by the alert id, so it sits in the alert's partition."""
    record = SCOPE.record(
        envelope("AlertHit"),
        value=b"x",
        outcome=AuditOutcome.DELIVERED,
        record={"hit_id": HIT_ID, "alert_id": ALERT_ID, "alert_kind": "VEHICLE"},
    )
    assert (ALERT_ID.encode(), "VEHICLE") == (audit_key(record), record["alert_kind"])


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (SecurityError("forged"), AuditOutcome.SECURITY_REJECTED),
        (SinkRejected("HTTP 400"), AuditOutcome.REJECTED),
        (SinkConflict("other bytes"), AuditOutcome.REJECTED),
        (TranslationError("no code"), AuditOutcome.DEAD_LETTERED),
        (DecodeError("bad magic"), AuditOutcome.DEAD_LETTERED),
    ],
)
def test_dlq_errors_map_to_audit_outcomes(error: Exception, outcome: AuditOutcome) -> None:
    """The error that sent a message to the DLQ decides the audit outcome."""
    assert outcome == outcome_of_error(error)


def test_a_409_duplicate_records_the_answer_as_reason() -> None:
    """A duplicate delivery over HTTP is audited as DUPLICATE with the 409 as reason."""
    result = DeliveryResult(DeliveryOutcome.DUPLICATE, "http", "http://h/x", CREATED, "HTTP 409")
    record = SCOPE.record(
        envelope(), value=b"x", outcome=outcome_of_delivery(result), result=result
    )
    assert ("DUPLICATE", "HTTP", "HTTP 409") == (
        record["outcome"],
        record["sink"],
        record["reason"],
    )


def test_records_for_several_recipients_are_each_recipients_own_record() -> None:
    """AuditScope.records (built and hashed once, then copied) gives, per recipient, exactly
    what AuditScope.record gives for that recipient."""
    local = LocalMessage("a.dat", b"local", "text/plain")
    result = DeliveryResult(DeliveryOutcome.DELIVERED, "directory", "a.dat", CREATED)
    fields: dict[str, Any] = {
        "value": b"\xc3\x01avro-bytes",
        "outcome": AuditOutcome.DELIVERED,
        "record": {"alert_id": ALERT_ID, "revision": 1},
        "local": local,
        "result": result,
        "position": Position("hx.alerts.person", 4, 1234),
        "recorded_at": CREATED,
    }
    recipients = ("410100000000", "410300000000", None)
    one_by_one = [SCOPE.record(envelope(), recipient=r, **fields) for r in recipients]
    assert one_by_one == SCOPE.records(envelope(), recipients, **fields)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_uuid5_text_is_uuid5_in_the_audit_namespace(name: str) -> None:
    """uuid5_text(name) is str(uuid.uuid5(AUDIT_ID_NAMESPACE, name)), for any text."""
    assert str(uuid.uuid5(AUDIT_ID_NAMESPACE, name)) == uuid5_text(name)
