"""Kafka headers of the envelope (CloudEvents Kafka binding, binary mode) and the record key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import Envelope, envelope_headers, parse_headers, record_key
from schemas.errors import MissingHeader, ValidationFailed

FINGERPRINT = bytes.fromhex("58cb2ffb0e0aa599")
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

FULL = Envelope(
    event_type="AlertHit",
    source="341300000000",
    message_id="2f1e0d9c-8b7a-4c6d-9e5f-4a3b2c1d0e9f",
    created_at=datetime(2026, 11, 21, 6, 2, 45, 120000, tzinfo=UTC),
    correlation_id="0b7d3f4e-6a2c-4e59-9d1f-3c8a5b6e7f10",
    causation_id="7c6b5a49-3827-4615-a4f3-e2d1c0b9a897",
    traceparent=TRACEPARENT,
    target="320300000000",
)
BARE = Envelope(
    event_type="PersonAlert",
    source="320300000000",
    message_id="9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    created_at=datetime(2026, 11, 20, 1, 15, tzinfo=UTC),
)


def test_headers_of_a_full_envelope() -> None:
    """Every header, in order, with the values docs/architecture.md prescribes."""
    assert [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"2f1e0d9c-8b7a-4c6d-9e5f-4a3b2c1d0e9f"),
        ("ce_source", b"341300000000"),
        ("ce_type", b"AlertHit"),
        ("ce_time", b"2026-11-21T06:02:45.120Z"),
        ("content-type", b"application/avro"),
        ("ce_correlationid", b"0b7d3f4e-6a2c-4e59-9d1f-3c8a5b6e7f10"),
        ("ce_causationid", b"7c6b5a49-3827-4615-a4f3-e2d1c0b9a897"),
        ("ce_traceparent", TRACEPARENT.encode()),
        ("ce_hxtarget", b"320300000000"),
    ] == envelope_headers(FULL)


def test_absent_optional_values_leave_their_headers_out() -> None:
    """A broadcast without correlation, causation, trace or target has six headers."""
    names = [name for name, _ in envelope_headers(BARE)]
    assert ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"] == names


def test_fingerprint_header_only_when_asked() -> None:
    """With a fingerprint given, hx_fingerprint (hex) follows the CloudEvents headers."""
    assert ("hx_fingerprint", b"58cb2ffb0e0aa599") == envelope_headers(BARE, FINGERPRINT)[-1]


def test_headers_without_fingerprint_parse() -> None:
    """hx_fingerprint is optional: the headers without it parse to the envelope."""
    assert BARE == parse_headers(envelope_headers(BARE))[0]


@pytest.mark.parametrize("envelope", [FULL, BARE], ids=["full", "bare"])
def test_headers_parse_back_to_the_envelope(envelope: Envelope) -> None:
    """parse_headers(envelope_headers(e)) gives e back, and every header by name."""
    headers = envelope_headers(envelope, FINGERPRINT)
    assert (envelope, dict(headers)) == parse_headers(headers)


def test_time_in_another_offset_is_read_as_utc() -> None:
    """ce_time with +08:00 is the same instant, in UTC."""
    headers = [
        (n, b"2026-11-20T09:15:00.000+08:00" if n == "ce_time" else v)
        for n, v in envelope_headers(BARE, FINGERPRINT)
    ]
    envelope, _ = parse_headers(headers)
    assert (datetime(2026, 11, 20, 1, 15, tzinfo=UTC), UTC) == (
        envelope.created_at,
        envelope.created_at.tzinfo,
    )


def test_local_created_at_is_written_in_utc() -> None:
    """created_at in +08:00 is written as its UTC instant with Z."""
    local = BARE.evolve(
        created_at=datetime(2026, 11, 20, 9, 15, tzinfo=timezone(timedelta(hours=8)))
    )
    assert b"2026-11-20T01:15:00.000Z" == dict(envelope_headers(local, FINGERPRINT))["ce_time"]


def test_naive_created_at_is_refused() -> None:
    """A created_at without offset cannot be written as RFC 3339: ValidationFailed."""
    with pytest.raises(ValidationFailed) as caught:
        envelope_headers(BARE.evolve(created_at=datetime(2026, 11, 20, 9, 15)), FINGERPRINT)
    assert ["created_at"] == [i.path for i in caught.value.issues]


REQUIRED = [
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_time",
    "content-type",
]


@pytest.mark.parametrize("missing", REQUIRED)
def test_absent_required_header_is_named(missing: str) -> None:
    """Each required header, left out, raises MissingHeader naming it."""
    headers = [(n, v) for n, v in envelope_headers(FULL, FINGERPRINT) if n != missing]
    with pytest.raises(MissingHeader) as caught:
        parse_headers(headers)
    assert str(caught.value).startswith(f"{missing}: ")


MALFORMED = [
    ("ce_specversion", b"0.3"),
    ("ce_id", b"message-1"),
    ("ce_id", b"2F1E0D9C-8B7A-4C6D-9E5F-4A3B2C1D0E9F"),
    ("ce_source", b"320300"),
    ("ce_type", b"PersonAlarm"),
    ("ce_time", b"2026-11-20T01:15:00"),
    ("ce_time", b"yesterday"),
    ("content-type", b"application/json"),
    ("hx_fingerprint", b"58CB2FFB"),
    ("ce_hxtarget", b"Xuzhou"),
    ("ce_source", b"\xff\xfe"),
    ("ce_id", b""),
]


@pytest.mark.parametrize(("name", "value"), MALFORMED, ids=[f"{n}={v!r}" for n, v in MALFORMED])
def test_malformed_header_is_named(name: str, value: bytes) -> None:
    """A header not of its form raises MissingHeader naming it."""
    headers = [(n, value if n == name else v) for n, v in envelope_headers(FULL, FINGERPRINT)]
    with pytest.raises(MissingHeader) as caught:
        parse_headers(headers)
    assert str(caught.value).startswith(f"{name}: ")


def test_repeated_header_is_refused() -> None:
    """A header given twice is refused: the signature and the envelope must see one value."""
    headers = [*envelope_headers(BARE, FINGERPRINT), ("ce_source", b"370400000000")]
    with pytest.raises(MissingHeader) as caught:
        parse_headers(headers)
    assert "ce_source: appears twice; a message carries each header once" == str(caught.value)


def test_invalid_traceparent_is_dropped_not_fatal() -> None:
    """A malformed traceparent starts a new trace (W3C): the envelope has none."""
    headers = [*envelope_headers(BARE, FINGERPRINT), ("ce_traceparent", b"not-a-trace")]
    envelope, by_name = parse_headers(headers)
    assert (None, b"not-a-trace") == (envelope.traceparent, by_name["ce_traceparent"])


def test_other_headers_are_passed_on() -> None:
    """Headers of other layers (the signature) are returned by name, untouched."""
    headers = [*envelope_headers(BARE, FINGERPRINT), ("hx_signature", b"\x00\x01")]
    _, by_name = parse_headers(headers)
    assert b"\x00\x01" == by_name["hx_signature"]


_CHANGES = st.one_of(st.none(), st.just(b"DROP"), st.binary(max_size=40))


@settings(max_examples=300, deadline=None)
@given(st.lists(_CHANGES, min_size=11, max_size=11))
def test_damaged_headers_parse_or_raise_missing_header(changes: list[bytes | None]) -> None:
    """Headers with values dropped or replaced by any bytes parse, or raise MissingHeader."""
    headers = [
        (name, value if change is None else change)
        for (name, value), change in zip(envelope_headers(FULL, FINGERPRINT), changes, strict=True)
        if change != b"DROP"
    ]
    try:
        envelope, _ = parse_headers(headers)
    except MissingHeader:
        return
    assert dict(headers)["ce_type"] == envelope.event_type.encode()


@pytest.mark.parametrize(
    ("event_type", "field"),
    [
        ("PersonAlert", "alert_id"),
        ("VehicleAlert", "alert_id"),
        ("AlertStatusChange", "alert_id"),
        ("AlertHit", "hit_id"),
        ("HitConfirmation", "hit_id"),
        ("AssistanceRequest", "request_id"),
        ("AssistanceResponse", "request_id"),
    ],
)
def test_record_key_is_the_business_id(event_type: str, field: str) -> None:
    """The key is the UTF-8 of the id that keeps an alert, hit or request in order."""
    record = {"alert_id": "a-1", "hit_id": "h-1", "request_id": "r-1", "response_id": "x"}
    assert record[field].encode() == record_key(event_type, record)


def test_record_without_its_key_field_is_refused() -> None:
    """A record without its key field raises ValidationFailed naming the field."""
    with pytest.raises(ValidationFailed) as caught:
        record_key("AlertHit", {"alert_id": "a-1"})
    assert ["hit_id"] == [i.path for i in caught.value.issues]
