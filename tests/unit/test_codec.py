"""schemas.Codec: golden bytes, refused records, typed decode errors, evolution, interop."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import avro.io
import avro.schema
import pytest
from codec_samples import PERSON_ALERT, record
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import event_records

from schemas import EVENT_TYPES, Catalog, Codec, parse_event, repository_catalog
from schemas.codec import HEADER_SIZE, MAGIC, without_uuid_logical_type
from schemas.errors import (
    BadMagic,
    DecodeError,
    TruncatedBody,
    UnknownSchema,
    ValidationFailed,
)

GOLDEN = Path(__file__).parent / "golden" / "codec" / "person_alert_v2.hex"


def golden_bytes() -> bytes:
    lines = GOLDEN.read_text(encoding="utf-8").splitlines()
    return bytes.fromhex("".join(line for line in lines if not line.startswith("#")))


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


# ---- golden bytes ----------------------------------------------------------------------


def test_person_alert_encodes_to_the_golden_bytes(codec: Codec) -> None:
    """The sample PersonAlert encodes to exactly the committed bytes (else: contract change)."""
    assert golden_bytes().hex() == codec.encode("PersonAlert", PERSON_ALERT).hex()


def test_golden_bytes_decode_to_the_sample_record(codec: Codec) -> None:
    """The committed bytes decode to the sample record."""
    assert ("PersonAlert", PERSON_ALERT) == codec.decode(golden_bytes())


def test_value_starts_with_marker_and_current_fingerprint(codec: Codec) -> None:
    """A value is C3 01, then the writer's 8-byte fingerprint, then the body."""
    value = codec.encode("PersonAlert", PERSON_ALERT)
    expected = (MAGIC, repository_catalog().current("PersonAlert").fingerprint)
    assert expected == (value[:2], value[2:HEADER_SIZE])


def test_fingerprint_is_the_current_versions(codec: Codec) -> None:
    """Codec.fingerprint gives the current version's 8 bytes for each type."""
    catalog = repository_catalog()
    expected = {t: catalog.current(t).fingerprint for t in EVENT_TYPES}
    assert expected == {t: codec.fingerprint(t) for t in EVENT_TYPES}


def test_decoded_values_have_the_record_form(codec: Codec) -> None:
    """uuids decode as str, timestamps as aware UTC datetimes, dates as date."""
    _, decoded = codec.decode(codec.encode("PersonAlert", PERSON_ALERT))
    shapes = (
        type(decoded["alert_id"]),
        type(decoded["related_alerts"][0]),
        decoded["issued_at"].utcoffset(),
        type(decoded["subject"]["birth_date"]),
    )
    assert (str, str, UTC.utcoffset(None), date) == shapes


def test_absent_key_with_a_default_takes_the_default(codec: Codec) -> None:
    """A record without an optional or list key encodes; it decodes as null or []."""
    sparse = record("PersonAlert")
    del sparse["related_alerts"], sparse["case_ref"]
    _, decoded = codec.decode(codec.encode("PersonAlert", sparse))
    assert ([], None) == (decoded["related_alerts"], decoded["case_ref"])


def test_timestamp_in_another_offset_decodes_as_the_same_instant_in_utc(codec: Codec) -> None:
    """A +08:00 timestamp comes back as the same instant, in UTC."""
    local = record("PersonAlert")
    local["issued_at"] = datetime(2026, 11, 20, 9, 15, tzinfo=timezone(timedelta(hours=8)))
    _, decoded = codec.decode(codec.encode("PersonAlert", local))
    assert datetime(2026, 11, 20, 1, 15, tzinfo=UTC) == decoded["issued_at"]


# ---- refused records -------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation setting the field at dotted ``path`` (``subject.photos.0.uri``)."""

    def mutate(target: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = target
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(target: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = target
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return mutate


INVALID = [
    ("PersonAlert", _set("revision", "2"), "revision", "must be a whole number, got str"),
    ("PersonAlert", _set("revision", 1.5), "revision", "must be a whole number, got float"),
    ("PersonAlert", _set("revision", True), "revision", "must be a whole number, got bool"),
    (
        "PersonAlert",
        _set("revision", 2**31),
        "revision",
        "is outside the 32-bit int range -2147483648 to 2147483647",
    ),
    (
        "PersonAlert",
        _set("subject.height_cm", -(2**40)),
        "subject.height_cm",
        "is outside the 32-bit int range -2147483648 to 2147483647",
    ),
    ("PersonAlert", _delete("reason"), "reason", "is required but missing"),
    ("PersonAlert", _delete("subject.name"), "subject.name", "is required but missing"),
    ("PersonAlert", _set("legal_basis", None), "legal_basis", "is required but null"),
    (
        "PersonAlert",
        _set("category", "ESCAPED"),
        "category",
        "must be one of WANTED, SUSPECT, MISSING, AT_RISK, WITNESS, DISCREET_CHECK, OTHER",
    ),
    (
        "PersonAlert",
        _set("subject.sex", "M"),
        "subject.sex",
        "must be one of UNKNOWN, MALE, FEMALE, UNSPECIFIED",
    ),
    (
        "PersonAlert",
        _set("caution_flags", ["ARMED", "KNIFE"]),
        "caution_flags[1]",
        "must be one of ARMED, VIOLENT, SELF_HARM, ESCAPE_RISK, MEDICAL, OTHER",
    ),
    (
        "PersonAlert",
        _set("issued_at", datetime(2026, 11, 20, 9, 15)),
        "issued_at",
        "must be a timezone-aware datetime (UTC); this one has no offset",
    ),
    (
        "PersonAlert",
        _set("valid_until", "2026-12-20"),
        "valid_until",
        "must be a datetime, got str",
    ),
    (
        "PersonAlert",
        _set("alert_id", "alert-17"),
        "alert_id",
        "is not a uuid in canonical lower-case form (8-4-4-4-12 hex)",
    ),
    (
        "PersonAlert",
        _set("related_alerts", ["5A0E6C1D-2B3F-4A7E-8C9D-0E1F2A3B4C5D"]),
        "related_alerts[0]",
        "is not a uuid in canonical lower-case form (8-4-4-4-12 hex)",
    ),
    ("PersonAlert", _set("share_with", "370400000000"), "share_with", "must be a list, got str"),
    ("PersonAlert", _set("case_ref", 117), "case_ref", "must be text (str), got int"),
    (
        "PersonAlert",
        _set("subject.birth_date", "1979-06-14"),
        "subject.birth_date",
        "must be a date, got str",
    ),
    (
        "PersonAlert",
        _set("subject.birth_date", datetime(1979, 6, 14, tzinfo=UTC)),
        "subject.birth_date",
        "must be a date, got datetime",
    ),
    (
        "PersonAlert",
        _set("contact", "0516-83000000"),
        "contact",
        "must be a Contact record (a dict), got str",
    ),
    (
        "PersonAlert",
        _delete("subject.photos.0.sha256"),
        "subject.photos[0].sha256",
        "is required but missing",
    ),
    ("PersonAlert", _set("last_known.lat", "34.2"), "last_known.lat", "must be a number, got str"),
    ("PersonAlert", _set("relatedAlerts", []), "relatedAlerts", "is not a field of PersonAlert"),
    (
        "PersonAlert",
        _set("subject.aliases", ["王\ud800"]),
        "subject.aliases[0]",
        "is not valid text: it holds an unpaired surrogate, which UTF-8 cannot carry",
    ),
    (
        "AlertHit",
        _set("confirmation_requested", "yes"),
        "confirmation_requested",
        "must be true or false, got str",
    ),
    ("AlertHit", _set("location", None), "location", "is required but null"),
]


@pytest.mark.parametrize(
    ("event_type", "mutate", "path", "rule"),
    INVALID,
    ids=[f"{row[0]}:{row[2]}:{row[3][:24]}" for row in INVALID],
)
def test_invalid_record_is_refused_naming_the_field(
    codec: Codec, event_type: str, mutate: Callable[[dict[str, Any]], None], path: str, rule: str
) -> None:
    """Each invalid record raises ValidationFailed with exactly its field path and rule."""
    bad = record(event_type)
    mutate(bad)
    with pytest.raises(ValidationFailed) as caught:
        codec.encode(event_type, bad)
    assert [(path, rule)] == [(i.path, i.rule) for i in caught.value.issues]


def test_every_issue_of_a_record_is_listed(codec: Codec) -> None:
    """A record with two broken fields gets both issues, in schema order."""
    bad = record("PersonAlert")
    bad["revision"] = 2**33
    bad["subject"]["sex"] = None
    with pytest.raises(ValidationFailed) as caught:
        codec.encode("PersonAlert", bad)
    assert ["revision", "subject.sex"] == [i.path for i in caught.value.issues]


def test_unknown_event_type_is_refused(codec: Codec) -> None:
    """Encoding a type the contract does not have names the type."""
    with pytest.raises(ValidationFailed) as caught:
        codec.encode("PersonAlarm", PERSON_ALERT)
    assert ["type"] == [i.path for i in caught.value.issues]


def test_encoding_does_not_touch_the_callers_record(codec: Codec) -> None:
    """Encoding (wrapping optional records for fastavro) leaves the caller's dict as it was."""
    mine = record("PersonAlert")
    codec.encode("PersonAlert", mine)
    assert PERSON_ALERT == mine


# ---- typed decode errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [b"", b"\xc3", b'{"type": "PersonAlert"}', b"\x00\x01" + bytes(30), b"\xc3\x00" + bytes(30)],
)
def test_value_without_the_marker_is_bad_magic(codec: Codec, value: bytes) -> None:
    """Anything not starting with C3 01 raises BadMagic."""
    with pytest.raises(BadMagic):
        codec.decode(value)


def test_unknown_fingerprint_is_unknown_schema(codec: Codec) -> None:
    """A fingerprint the catalog lacks raises UnknownSchema naming it."""
    value = MAGIC + bytes.fromhex("0011223344556677") + b"\x00"
    with pytest.raises(UnknownSchema) as caught:
        codec.decode(value)
    assert "0011223344556677" in str(caught.value)


@pytest.mark.parametrize("cut", [3, 9, 10, 11, 60, 200, 502])
def test_value_cut_short_is_truncated_body(codec: Codec, cut: int) -> None:
    """A value cut anywhere after the marker raises TruncatedBody, chained when fastavro failed."""
    with pytest.raises(TruncatedBody):
        codec.decode(golden_bytes()[:cut])


def test_truncated_body_chains_the_fastavro_error(codec: Codec) -> None:
    """The fastavro exception is kept as the cause, for the DLQ's diagnostics."""
    with pytest.raises(TruncatedBody) as caught:
        codec.decode(golden_bytes()[:200])
    assert EOFError is type(caught.value.__cause__)


def test_bytes_after_the_record_are_truncated_body(codec: Codec) -> None:
    """Bytes left after the body mean another schema wrote it: TruncatedBody."""
    with pytest.raises(TruncatedBody) as caught:
        codec.decode(golden_bytes() + b"\x00\x00")
    assert "2 bytes left" in str(caught.value)


def test_malformed_uuid_in_the_body_is_truncated_body(codec: Codec) -> None:
    """A body whose uuid field holds no uuid (a foreign writer) raises TruncatedBody naming it."""
    current = repository_catalog().current("AlertStatusChange")
    plain = parse_schema(without_uuid_logical_type(current.source), named_schemas={})
    body = io.BytesIO()
    schemaless_writer(
        body,
        plain,
        {
            "alert_id": "not-a-uuid",
            "alert_kind": "PERSON",
            "status": "WITHDRAWN",
            "reason": None,
            "changed_at": datetime(2026, 11, 20, tzinfo=UTC),
            "agency": "320300000000",
        },
    )
    with pytest.raises(TruncatedBody) as caught:
        codec.decode(MAGIC + current.fingerprint + body.getvalue())
    assert "alert_id: is not a uuid" in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(
    version=st.sampled_from(list(repository_catalog())),
    body=st.binary(max_size=300),
)
def test_garbage_body_raises_only_decode_errors(codec: Codec, version: Any, body: bytes) -> None:
    """Any bytes after a known header decode or raise a DecodeError, never a bare exception."""
    try:
        event_type, _ = codec.decode(MAGIC + version.fingerprint + body)
    except DecodeError:
        return
    assert version.event_type == event_type


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_flipped_bytes_raise_only_decode_errors(codec: Codec, data: st.DataObject) -> None:
    """The golden value with bytes changed decodes or raises a DecodeError, nothing else."""
    value = bytearray(golden_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        value[data.draw(st.integers(HEADER_SIZE, len(value) - 1))] = data.draw(st.integers(0, 255))
    try:
        event_type, _ = codec.decode(bytes(value))
    except DecodeError:
        return
    assert "PersonAlert" == event_type


# ---- evolution -------------------------------------------------------------------------


def test_v1_bytes_read_with_v2_get_related_alerts_default(codec: Codec) -> None:
    """PersonAlert v1 bytes decode into v2 with related_alerts = [] and every other field kept."""
    v1 = repository_catalog().get("PersonAlert", 1)
    v1_writer = Codec(Catalog([v1]))
    old = record("PersonAlert")
    del old["related_alerts"]
    value = v1_writer.encode("PersonAlert", old)
    assert (v1.fingerprint, ("PersonAlert", {**old, "related_alerts": []})) == (
        value[2:HEADER_SIZE],
        codec.decode(value),
    )


def test_v2_bytes_read_with_v1_drop_related_alerts(codec: Codec) -> None:
    """PersonAlert v2 bytes resolve into v1 without related_alerts, every other field kept."""
    catalog = repository_catalog()
    v1, v2 = catalog.get("PersonAlert", 1), catalog.get("PersonAlert", 2)
    body = io.BytesIO(codec.encode("PersonAlert", PERSON_ALERT)[HEADER_SIZE:])
    as_v1 = schemaless_reader(body, v2.schema, v1.schema)
    expected = {k: v for k, v in PERSON_ALERT.items() if k != "related_alerts"}
    as_v1["alert_id"] = str(as_v1["alert_id"])  # fastavro's uuid logical type gives UUID
    assert expected == as_v1


def test_v2_bytes_read_with_v1_by_apache_avro(codec: Codec) -> None:
    """Apache Avro's own resolver reads v2 bytes with the v1 schema, related_alerts dropped."""
    catalog = repository_catalog()
    v1, v2 = catalog.get("PersonAlert", 1), catalog.get("PersonAlert", 2)
    reader = avro.io.DatumReader(
        avro.schema.parse(json.dumps(v2.source)), avro.schema.parse(json.dumps(v1.source))
    )
    value = codec.encode("PersonAlert", PERSON_ALERT)
    as_v1 = reader.read(avro.io.BinaryDecoder(io.BytesIO(value[HEADER_SIZE:])))
    assert ["related_alerts"] == sorted(set(PERSON_ALERT) - set(as_v1))


# ---- interoperability with Apache Avro -------------------------------------------------


@pytest.mark.parametrize("event_type", ["PersonAlert", "AlertHit"])
def test_apache_avro_decodes_our_body(codec: Codec, event_type: str) -> None:
    """Apache Avro, given the schema found by the fingerprint, reads our body to the record."""
    value = codec.encode(event_type, record(event_type))
    writer = codec.catalog.by_fingerprint(value[2:HEADER_SIZE])
    reader = avro.io.DatumReader(avro.schema.parse(json.dumps(writer.source)))
    decoded = reader.read(avro.io.BinaryDecoder(io.BytesIO(value[HEADER_SIZE:])))
    assert record(event_type) == decoded


def test_codec_decodes_apache_avro_bytes(codec: Codec) -> None:
    """Bytes written by Apache Avro with our framing decode to the same record."""
    current = repository_catalog().current("PersonAlert")
    writer = avro.io.DatumWriter(avro.schema.parse(json.dumps(current.source)))
    body = io.BytesIO()
    writer.write(record("PersonAlert"), avro.io.BinaryEncoder(body))
    value = MAGIC + current.fingerprint + body.getvalue()
    assert ("PersonAlert", PERSON_ALERT) == codec.decode(value)


def test_fingerprint_in_the_value_is_apache_avros_crc64_of_the_canonical_form(codec: Codec) -> None:
    """The 8 header bytes equal Apache Avro's CRC-64-AVRO fingerprint of the canonical form.

    Parsed from the canonical form, not from the source: Apache Avro's Python library keeps
    ``{"type":"string"}`` for a logical-type primitive in its canonical form, where the
    specification ([STRIP], [PRIMITIVES]) and the Java implementation write ``"string"``.
    """
    value = codec.encode("PersonAlert", PERSON_ALERT)
    canonical = repository_catalog().current("PersonAlert").canonical_form
    schema = avro.schema.parse(canonical)
    assert schema.fingerprint("CRC-64-AVRO") == value[2:HEADER_SIZE]


# ---- round trips -----------------------------------------------------------------------


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_valid_record_round_trips(codec: Codec, event_type: str, data: st.DataObject) -> None:
    """encode then decode gives back an equal record, for every event type."""
    original = data.draw(event_records(event_type))
    assert (event_type, original) == codec.decode(codec.encode(event_type, original))


def test_models_fixtures_round_trip(codec: Codec, agreement: Any) -> None:
    """Every JSON fixture event, validated by the models, encodes and decodes unchanged."""
    fixtures = sorted((Path(__file__).parent.parent / "fixtures" / "events").glob("*.json"))
    events = [parse_event(json.loads(p.read_text(encoding="utf-8")), agreement) for p in fixtures]
    expected = [(e.event_type, e.record) for e in events]
    assert expected == [codec.decode(codec.encode(e.event_type, e.record)) for e in events]
