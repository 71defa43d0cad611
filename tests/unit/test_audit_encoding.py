"""bridge.audit_encoding: the compiled audit writer writes the codec's bytes and refuses
what the codec refuses, with the codec's error."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.audit_encoding import RecordEncoder, compile_writer
from bridge.audit_writer import AUDIT_RECORD_TYPE, audit_codec, audit_encoder
from schemas import repository_catalog
from schemas.codec import MAGIC
from schemas.errors import ValidationFailed

UUIDS = st.uuids().map(str)
TIMES = st.datetimes(
    min_value=datetime(1960, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
) | st.datetimes(timezones=st.just(timezone(timedelta(hours=8))))
TEXT = st.text(max_size=1200)
LONGS = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def base_record() -> dict[str, Any]:
    return {
        "audit_id": "b4de5709-a3a2-59a5-9193-536a97a06a46",
        "recorded_at": datetime(2026, 11, 20, 1, 15, 3, 123456, tzinfo=UTC),
        "message_id": "6f1c1d7e-2b1a-4c55-9a51-0c7e3f4f9a10",
        "event_type": "PersonAlert",
        "alert_id": "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31",
        "hit_id": None,
        "request_id": None,
        "alert_kind": "PERSON",
        "correlation_id": "c0ffee00-0000-4000-8000-000000000001",
        "source_agency": "320300000000",
        "recipient_agency": "370400000000",
        "province": "SD",
        "sink": "DIRECTORY",
        "destination": "6f1c1d7e-2b1a-4c55-9a51-0c7e3f4f9a10.xml",
        "outcome": "DELIVERED",
        "reason": None,
        "profile": "shandong",
        "profile_version": "1.0",
        "truncated_fields": ["reason"],
        "dropped_fields": ["subject.aliases", "subject.photos"],
        "value_sha256": "89271cb3e9d00ff1e1913dd9e928379d929d1f992718de1f517b336a54b50345",
        "local_sha256": "27500cb0b85374c49eb8bf5fd3cfee4cb1c26ef87fd8a5949e9e00afa5820e77",
        "delivered_at": datetime(2026, 11, 20, 1, 15, 2, 973000, tzinfo=UTC),
        "latency_ms": 850,
        "source_topic": "hx.alerts.person",
        "source_partition": 4,
        "source_offset": 1234,
    }


@st.composite
def audit_records(draw: st.DrawFn) -> dict[str, Any]:
    """Records the schema admits, with every optional field null or set."""

    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(st.none() | strategy)

    record = base_record()
    record.update(
        audit_id=draw(UUIDS),
        recorded_at=draw(TIMES),
        message_id=draw(UUIDS),
        event_type=draw(TEXT),
        alert_id=maybe(UUIDS),
        hit_id=maybe(UUIDS),
        request_id=maybe(UUIDS),
        alert_kind=maybe(st.sampled_from(["PERSON", "VEHICLE", "UNKNOWN"])),
        correlation_id=maybe(TEXT),
        source_agency=draw(TEXT),
        recipient_agency=maybe(TEXT),
        province=draw(TEXT),
        sink=maybe(st.sampled_from(["DIRECTORY", "HTTP", "KAFKA"])),
        destination=maybe(TEXT),
        outcome=draw(st.sampled_from(["DELIVERED", "DUPLICATE", "REJECTED", "EXPIRED"])),
        reason=maybe(TEXT),
        truncated_fields=draw(st.lists(TEXT, max_size=3) | st.tuples(TEXT)),
        dropped_fields=draw(st.lists(TEXT, max_size=3)),
        local_sha256=maybe(TEXT),
        delivered_at=maybe(TIMES),
        latency_ms=maybe(LONGS),
        source_topic=maybe(TEXT),
        source_partition=maybe(st.integers(min_value=-(2**31), max_value=2**31 - 1)),
        source_offset=maybe(LONGS),
    )
    return record


def test_the_audit_schema_has_a_compiled_writer() -> None:
    """The writer's encoder compiles the audit schema (else the codec writes every record)."""
    assert True is audit_encoder().compiled


@settings(max_examples=200, deadline=None)
@given(audit_records())
def test_compiled_bytes_equal_the_codecs(record: dict[str, Any]) -> None:
    """For any record the schema admits, the compiled writer itself (no codec behind it)
    writes the codec's bytes."""
    codec = audit_codec()
    write = compile_writer(
        codec.catalog.current(AUDIT_RECORD_TYPE).schema,
        MAGIC + codec.fingerprint(AUDIT_RECORD_TYPE),
    )
    assert write is not None
    assert codec.encode(AUDIT_RECORD_TYPE, record) == write(record)


@settings(max_examples=50, deadline=None)
@given(st.lists(TIMES, min_size=1, max_size=4), st.lists(st.integers(0, 3), max_size=12))
def test_one_writer_over_a_batch_sharing_times_writes_the_codecs_bytes(
    times: list[datetime], picks: list[int]
) -> None:
    """One writer over a batch whose records share time objects (as a bridge's batch
    shares recorded_at) writes each record as the codec does."""
    codec = audit_codec()
    write = compile_writer(
        codec.catalog.current(AUDIT_RECORD_TYPE).schema,
        MAGIC + codec.fingerprint(AUDIT_RECORD_TYPE),
    )
    assert write is not None
    records = []
    for pick in picks:
        record = base_record()
        record["recorded_at"] = times[pick % len(times)]
        record["delivered_at"] = times[(pick + 1) % len(times)]
        records.append(record)
    expected = [codec.encode(AUDIT_RECORD_TYPE, r) for r in records]
    assert expected == [write(r) for r in records]


def test_a_record_without_its_optional_fields_gets_the_defaults_as_the_codec_writes() -> None:
    """A record missing fields that have defaults is encoded (by the codec) with them."""
    record = base_record()
    for name in ("alert_kind", "reason", "truncated_fields", "latency_ms"):
        del record[name]
    assert audit_codec().encode(AUDIT_RECORD_TYPE, record) == audit_encoder().encode(
        AUDIT_RECORD_TYPE, record
    )


BROKEN = [
    ("alert_id", "not-a-uuid"),
    ("audit_id", "B4DE5709-A3A2-59A5-9193-536A97A06A46"),
    ("source_partition", 2**31),
    ("source_offset", 2**63),
    ("latency_ms", True),
    ("latency_ms", 1.5),
    ("recorded_at", datetime(2026, 11, 20, 1, 15, 3)),
    ("outcome", "LOST"),
    ("sink", "FTP"),
    ("truncated_fields", "reason"),
    ("truncated_fields", [1]),
    ("province", None),
    ("province", b"SD"),
    ("reason", "\ud800"),
]


@pytest.mark.parametrize(("field", "value"), BROKEN, ids=[f"{f}={v!r}" for f, v in BROKEN])
def test_a_record_the_codec_refuses_is_refused_alike(field: str, value: Any) -> None:
    """A value the schema does not admit raises what the codec raises, same message."""
    record = base_record()
    record[field] = value
    expected = _outcome(audit_codec().encode, AUDIT_RECORD_TYPE, copy.deepcopy(record))
    actual = _outcome(audit_encoder().encode, AUDIT_RECORD_TYPE, record)
    assert expected == actual


def test_a_missing_required_field_and_an_unknown_field_are_refused_alike() -> None:
    """No message_id, or a field the schema does not have: the codec's ValidationFailed."""
    missing = base_record()
    del missing["message_id"]
    extra = base_record() | {"officer": "x"}
    for record in (missing, extra):
        expected = _outcome(audit_codec().encode, AUDIT_RECORD_TYPE, dict(record))
        actual = _outcome(audit_encoder().encode, AUDIT_RECORD_TYPE, record)
        assert (ValidationFailed, expected) == (expected[0], actual)


def test_a_schema_with_nested_records_gets_no_compiled_writer() -> None:
    """A PersonAlert (nested records, maps) is left to the codec whole."""
    schema = repository_catalog().current("PersonAlert").schema
    assert None is compile_writer(schema, b"")


def test_other_types_go_to_the_codec() -> None:
    """The encoder of the audit type hands any other type to its codec (whose error the
    audit codec's unknown type is)."""
    codec = audit_codec()
    encoder = RecordEncoder(
        codec, AUDIT_RECORD_TYPE, codec.catalog.current(AUDIT_RECORD_TYPE).schema
    )
    expected = _outcome(codec.encode, "AlertHit", base_record())
    assert (True, expected) == (
        expected[1] != "",
        _outcome(encoder.encode, "AlertHit", base_record()),
    )


def _outcome(encode: Any, *args: Any) -> tuple[Any, str]:
    """The bytes ``encode(*args)`` returns, or the class and message of what it raises."""
    try:
        return encode(*args), ""
    except Exception as exc:
        return type(exc), str(exc)
