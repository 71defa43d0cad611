"""schemas.Catalog: fingerprints as the Avro specification defines them, versions, look-ups."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import avro.schema
import pytest
from fastavro.schema import load_schema, to_parsing_canonical_form

from schemas import (
    AVRO_DIR,
    EVENT_TYPES,
    Catalog,
    SchemaVersion,
    freeze_current,
    repository_catalog,
)
from schemas.catalog import schema_fingerprint
from schemas.errors import ConfigError, UnknownSchema

#: Canonical forms and fingerprints (Java longs) from Apache Avro's
#: share/test/data/schema-tests.txt, cross-checked there against the Java implementation.
SPEC_VECTORS = [
    ('"null"', 7195948357588979594),
    ('"int"', 8247732601305521295),
    ('"string"', -8142146995180207161),
    ('{"name":"foo","type":"record","fields":[]}', -4824392279771201922),
    ('{"name":"x.y.foo","type":"record","fields":[]}', 5916914534497305771),
    ('{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}', -4448647247586288245),
    ('{"type":"map","values":"string"}', -8732877298790414990),
]

_EMPTY = 0xC15D213AA4D7A795


def _spec_table() -> list[int]:
    table = []
    for byte in range(256):
        fp = byte
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY & -(fp & 1))
        table.append(fp)
    return table


_TABLE = _spec_table()


def spec_fingerprint64(data: bytes) -> int:
    """The Rabin fingerprint exactly as the Avro specification's reference code computes it."""
    fp = _EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp


@pytest.fixture
def avro_copy(tmp_path: Path) -> Path:
    """A private copy of schemas/avro to change."""
    return Path(shutil.copytree(AVRO_DIR, tmp_path / "avro"))


@pytest.mark.parametrize(("canonical", "java_long"), SPEC_VECTORS)
def test_fingerprint_matches_the_specifications_vectors(canonical: str, java_long: int) -> None:
    """Our fingerprint is the spec's 64-bit value written little-endian (single-object order)."""
    assert struct.pack("<q", java_long) == schema_fingerprint(canonical)


@pytest.mark.parametrize("version", list(repository_catalog()), ids=lambda v: v.label)
def test_fingerprint_is_the_spec_algorithm_little_endian(version: SchemaVersion) -> None:
    """Each version's fingerprint is the spec's reference algorithm, little-endian bytes."""
    expected = spec_fingerprint64(version.canonical_form.encode()).to_bytes(8, "little")
    assert expected == version.fingerprint


@pytest.mark.parametrize("version", list(repository_catalog()), ids=lambda v: v.label)
def test_fingerprint_equals_apache_avros(version: SchemaVersion) -> None:
    """Apache Avro's own implementation gives the same 8 bytes for each canonical form."""
    schema = avro.schema.parse(version.canonical_form)
    assert version.fingerprint == schema.fingerprint("CRC-64-AVRO")


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_canonical_form_equals_fastavros_load_schema(event_type: str) -> None:
    """The catalog's inlining gives the canonical form fastavro's load_schema gives."""
    loaded = load_schema(str(AVRO_DIR / f"hx.exchange.{event_type}.avsc"), _write_hint=False)
    expected = to_parsing_canonical_form(loaded)
    assert expected == repository_catalog().current(event_type).canonical_form


def test_canonical_forms_carry_no_logical_types_or_docs() -> None:
    """The spec's [STRIP] rule: logicalType, doc and default never reach the fingerprint."""
    leaked = [
        version.label
        for version in repository_catalog()
        if any(word in version.canonical_form for word in ('"logicalType"', '"doc"', '"default"'))
    ]
    assert [] == leaked


def test_versions_of_each_type() -> None:
    """PersonAlert has v1 and v2 (current); every other type has v1 only."""
    catalog = repository_catalog()
    expected = {t: [1, 2] if t == "PersonAlert" else [1] for t in EVENT_TYPES}
    assert expected == {t: [v.version for v in catalog.versions(t)] for t in EVENT_TYPES}


def test_current_is_the_newest_and_frozen() -> None:
    """The current version of each type is its newest, and it is frozen in history."""
    catalog = repository_catalog()
    states = {t: (catalog.current(t).version, catalog.current(t).frozen) for t in EVENT_TYPES}
    assert {t: (len(catalog.versions(t)), True) for t in EVENT_TYPES} == states


def test_look_ups_find_the_same_version() -> None:
    """By fingerprint and by (type, version) give the same entry."""
    catalog = repository_catalog()
    v1 = catalog.get("PersonAlert", 1)
    assert (v1.label, v1.label) == (
        catalog.by_fingerprint(v1.fingerprint).label,
        catalog.get(v1.event_type, v1.version).label,
    )


def test_person_alert_v1_lacks_related_alerts() -> None:
    """v1 is v2 without related_alerts, and the two differ only there."""
    catalog = repository_catalog()
    names = [[f["name"] for f in catalog.get("PersonAlert", n).schema["fields"]] for n in (1, 2)]
    assert names[1] == [*names[0], "related_alerts"]


def test_unknown_fingerprint_and_version_raise_unknown_schema() -> None:
    """Look-ups of what the catalog lacks raise UnknownSchema."""
    catalog = repository_catalog()
    raised = []
    for look_up in (
        lambda: catalog.by_fingerprint(bytes(8)),
        lambda: catalog.get("PersonAlert", 9),
        lambda: catalog.current("PersonAlarm"),
    ):
        with pytest.raises(UnknownSchema) as caught:
            look_up()
        raised.append(type(caught.value))
    assert [UnknownSchema] * 3 == raised


def test_edited_schema_is_the_next_unfrozen_version_until_frozen(avro_copy: Path) -> None:
    """A changed current schema is v(n+1), not frozen; freeze writes history/<Type>/v(n+1)."""
    path = avro_copy / "hx.exchange.AlertStatusChange.avsc"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["fields"].append(
        {"name": "note", "type": ["null", "string"], "default": None, "doc": "A note."}
    )
    path.write_text(json.dumps(schema), encoding="utf-8")
    before = Catalog.load(avro_copy).current("AlertStatusChange")
    written = freeze_current("AlertStatusChange", avro_copy)
    after = Catalog.load(avro_copy).current("AlertStatusChange")
    expected = (2, False, avro_copy / "history" / "AlertStatusChange" / "v2.avsc", 2, True)
    assert expected == (before.version, before.frozen, written, after.version, after.frozen)


def test_doc_edit_is_not_a_new_version(avro_copy: Path) -> None:
    """Changing a doc keeps the canonical form, so the current schema stays the same version."""
    path = avro_copy / "hx.exchange.HitConfirmation.avsc"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["doc"] = "Reworded."
    path.write_text(json.dumps(schema), encoding="utf-8")
    current = Catalog.load(avro_copy).current("HitConfirmation")
    assert (1, True, "Reworded.") == (current.version, current.frozen, current.schema["doc"])


def test_gap_in_frozen_versions_is_a_config_error(avro_copy: Path) -> None:
    """history/<Type>/ numbered 1, 3 is refused, naming the file."""
    history = avro_copy / "history" / "PersonAlert"
    (history / "v2.avsc").rename(history / "v3.avsc")
    with pytest.raises(ConfigError) as caught:
        Catalog.load(avro_copy)
    assert "v3.avsc" in str(caught.value)


def test_version_coming_back_is_a_config_error(avro_copy: Path) -> None:
    """A current schema equal to an older frozen version (not the newest) is refused."""
    history = avro_copy / "history" / "PersonAlert"
    shutil.copy(history / "v1.avsc", avro_copy / "hx.exchange.PersonAlert.avsc")
    with pytest.raises(ConfigError) as caught:
        Catalog.load(avro_copy)
    assert "a version never comes back" in str(caught.value)


def test_missing_referenced_type_is_a_config_error(avro_copy: Path) -> None:
    """A type referred to without its file is refused, naming the missing file."""
    (avro_copy / "hx.exchange.Contact.avsc").unlink()
    with pytest.raises(ConfigError) as caught:
        Catalog.load(avro_copy)
    assert "hx.exchange.Contact.avsc: missing" in str(caught.value)
