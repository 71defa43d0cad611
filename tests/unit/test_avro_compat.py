"""The evolution guard: FULL_TRANSITIVE compatibility, proven, with the field named."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from schemas_cli import run_cli

from schemas import (
    AVRO_DIR,
    Catalog,
    Incompatibility,
    assert_compatible,
    check_catalog,
    freeze_current,
    repository_catalog,
)
from schemas.errors import IncompatibleSchema
from schemas.samples import sample_records


@pytest.fixture
def avro_copy(tmp_path: Path) -> Path:
    """A private copy of schemas/avro to break."""
    return Path(shutil.copytree(AVRO_DIR, tmp_path / "avro"))


def change(avro_dir: Path, name: str, edit: Callable[[dict[str, Any]], None]) -> None:
    """Edit the current file of ``hx.exchange.<name>`` in place."""
    path = avro_dir / f"hx.exchange.{name}.avsc"
    schema = json.loads(path.read_text(encoding="utf-8"))
    edit(schema)
    path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")


def structural(found: list[Incompatibility]) -> list[tuple[str, int, int, str]]:
    """The field-naming findings, without the sample round trips that prove them."""
    return [(i.event_type, i.writer, i.reader, i.path) for i in found if i.path]


def proven(found: list[Incompatibility]) -> list[tuple[str, int, int]]:
    """The pairs whose sample records failed to resolve."""
    return [(i.event_type, i.writer, i.reader) for i in found if not i.path and i.writer]


def test_repository_contract_is_full_transitive() -> None:
    """Every older version and the newest read each other's samples; nothing to report."""
    assert [] == check_catalog(repository_catalog())


def test_field_added_without_default_fails_naming_it(avro_copy: Path) -> None:
    """A new PersonAlert field without default breaks reading v1 and v2 bytes with v3."""
    change(
        avro_copy,
        "PersonAlert",
        lambda s: s["fields"].append({"name": "pin", "type": "string", "doc": "A pin."}),
    )
    freeze_current("PersonAlert", avro_copy)
    found = check_catalog(Catalog.load(avro_copy))
    assert (
        [("PersonAlert", 1, 3, "pin"), ("PersonAlert", 2, 3, "pin")],
        [("PersonAlert", 1, 3), ("PersonAlert", 2, 3)],
    ) == (structural(found), proven(found))


def test_message_names_type_versions_field_and_rule(avro_copy: Path) -> None:
    """The finding reads as a sentence an engineer can act on."""
    change(
        avro_copy,
        "AlertStatusChange",
        lambda s: s["fields"].append({"name": "pin", "type": "string", "doc": "A pin."}),
    )
    freeze_current("AlertStatusChange", avro_copy)
    found = check_catalog(Catalog.load(avro_copy))
    expected = (
        "AlertStatusChange v2 reading v1 bytes: pin: v2 needs this field, v1 does not write "
        "it, and v2 has no default for it (a field added or removed without a default: give "
        'it a default ("default": null for an optional field, [] for an array))'
    )
    assert expected == str(found[0])


def test_field_removed_without_default_fails_naming_it(avro_copy: Path) -> None:
    """Removing a required field breaks old readers of new bytes (v1 reading v2)."""
    change(
        avro_copy,
        "HitConfirmation",
        lambda s: s.update(fields=[f for f in s["fields"] if f["name"] != "agency"]),
    )
    freeze_current("HitConfirmation", avro_copy)
    found = check_catalog(Catalog.load(avro_copy))
    assert ([("HitConfirmation", 2, 1, "agency")], [("HitConfirmation", 2, 1)]) == (
        structural(found),
        proven(found),
    )


def test_enum_symbol_removed_without_default_fails_naming_it(avro_copy: Path) -> None:
    """Dropping RESOLVED from an AlertStatus without default breaks reading v1 bytes."""

    def drop_resolved(schema: dict[str, Any]) -> None:
        schema["symbols"].remove("RESOLVED")
        del schema["default"]

    change(avro_copy, "AlertStatus", drop_resolved)
    freeze_current("AlertStatusChange", avro_copy)
    found = check_catalog(Catalog.load(avro_copy))
    rule = (
        "enum AlertStatus: symbol RESOLVED of v1 is unknown to v2, whose enum has no default "
        "(a symbol removed, or added, without an enum default)"
    )
    assert (
        [("AlertStatusChange", 1, 2, "status", rule)],
        [("AlertStatusChange", 1, 2)],
    ) == (
        [(i.event_type, i.writer, i.reader, i.path, i.rule) for i in found if i.path],
        proven(found),
    )


def test_enum_symbol_removed_with_default_is_compatible(avro_copy: Path) -> None:
    """With the enum default kept, a removed symbol reads as the default: no finding."""
    change(avro_copy, "AlertStatus", lambda s: s["symbols"].remove("RESOLVED"))
    freeze_current("AlertStatusChange", avro_copy)
    assert [] == check_catalog(Catalog.load(avro_copy))


def test_optional_field_added_with_default_is_compatible(avro_copy: Path) -> None:
    """The compatible change (an optional field, default null) passes in both directions."""
    change(
        avro_copy,
        "AlertHit",
        lambda s: s["fields"].append(
            {"name": "pin", "type": ["null", "string"], "default": None, "doc": "A pin."}
        ),
    )
    freeze_current("AlertHit", avro_copy)
    assert [] == check_catalog(Catalog.load(avro_copy))


def test_type_change_fails_both_ways(avro_copy: Path) -> None:
    """A string field becoming an int breaks both directions, naming the field."""

    def agency_as_int(schema: dict[str, Any]) -> None:
        next(f for f in schema["fields"] if f["name"] == "agency")["type"] = "int"

    change(avro_copy, "AlertStatusChange", agency_as_int)
    freeze_current("AlertStatusChange", avro_copy)
    found = check_catalog(Catalog.load(avro_copy))
    assert [
        (
            "AlertStatusChange",
            1,
            2,
            "agency",
            "type changed from string to int, which Avro cannot promote",
        ),
        (
            "AlertStatusChange",
            2,
            1,
            "agency",
            "type changed from int to string, which Avro cannot promote",
        ),
    ] == [(i.event_type, i.writer, i.reader, i.path, i.rule) for i in found if i.path]


def test_int_widened_to_long_is_compatible_backward_only(avro_copy: Path) -> None:
    """int -> long is a promotion for new readers, not for old ones (FULL needs both)."""

    def revision_as_long(schema: dict[str, Any]) -> None:
        next(f for f in schema["fields"] if f["name"] == "revision")["type"] = "long"

    change(avro_copy, "VehicleAlert", revision_as_long)
    freeze_current("VehicleAlert", avro_copy)
    found = check_catalog(Catalog.load(avro_copy))
    assert [("VehicleAlert", 2, 1, "revision")] == structural(found)


def test_unfrozen_change_is_reported(avro_copy: Path) -> None:
    """A current schema that differs from every frozen version must be frozen first."""
    change(
        avro_copy,
        "AlertHit",
        lambda s: s["fields"].append(
            {"name": "pin", "type": ["null", "string"], "default": None, "doc": "A pin."}
        ),
    )
    found = check_catalog(Catalog.load(avro_copy))
    expected = (
        "AlertHit: the current schema (hx.exchange.AlertHit.avsc) differs from every frozen "
        "version: freeze it as v2 (hxbus schemas freeze AlertHit)"
    )
    assert [expected] == [str(i) for i in found]


def test_assert_compatible_raises_incompatible_schema(avro_copy: Path) -> None:
    """assert_compatible turns findings into IncompatibleSchema listing them."""
    change(
        avro_copy,
        "AlertStatusChange",
        lambda s: s["fields"].append({"name": "pin", "type": "string", "doc": "A pin."}),
    )
    freeze_current("AlertStatusChange", avro_copy)
    with pytest.raises(IncompatibleSchema) as caught:
        assert_compatible(Catalog.load(avro_copy))
    assert str(caught.value).startswith("AlertStatusChange v2 reading v1 bytes: pin:")


def test_cli_check_exits_1_naming_the_field(
    avro_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`hxbus schemas check` exits 1 and prints the field that breaks compatibility."""
    change(
        avro_copy,
        "AlertStatusChange",
        lambda s: s["fields"].append({"name": "pin", "type": "string", "doc": "A pin."}),
    )
    freeze_current("AlertStatusChange", avro_copy)
    status = run_cli(["schemas", "--avro-dir", str(avro_copy), "check"])
    err = capsys.readouterr().err
    assert (1, True) == (status, "AlertStatusChange v2 reading v1 bytes: pin: v2 needs" in err)


def test_cli_check_exits_0_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    """`hxbus schemas check` passes on the committed contract."""
    status = run_cli(["schemas", "check"])
    out = capsys.readouterr().out
    assert (0, True) == (status, out.startswith("schemas check: ok: 7 event types, 8 versions"))


def test_samples_cover_every_symbol_of_every_enum() -> None:
    """The guard's samples write each CautionFlag and Sex symbol at least once."""
    samples = sample_records(repository_catalog().current("PersonAlert").schema)
    flags = {flag for s in samples for flag in s["caution_flags"]}
    sexes = {s["subject"]["sex"] for s in samples}
    expected = (
        {"ARMED", "VIOLENT", "SELF_HARM", "ESCAPE_RISK", "MEDICAL", "OTHER"},
        {"UNKNOWN", "MALE", "FEMALE", "UNSPECIFIED"},
    )
    assert expected == (flags, sexes)


def test_samples_take_both_branches_of_optional_values() -> None:
    """Some samples leave last_known null, some set it."""
    samples = sample_records(repository_catalog().current("PersonAlert").schema)
    assert {True, False} == {s["last_known"] is None for s in samples}
