"""The .avsc files: the shapes of docs/record-shapes.md, and the house rules of the contract."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schemas import AVRO_DIR, repository_catalog, rule_issues
from schemas.models import ENUM_SYMBOLS
from schemas.record_check import kind_of, named_types, resolve

#: docs/record-shapes.md, transcribed: ``name:type``, ``?`` optional (null default),
#: ``[]`` a list (default []). Timestamps are timestamp-millis, ids uuid strings.
RECORD_SHAPES = {
    "PersonAlert": "alert_id:uuid revision:int category:PersonAlertCategory subject:Subject "
    "reason:string case_ref:string? caution_flags:CautionFlag[] "
    "requested_action:RequestedAction last_known:Location? issuing_agency:string "
    "issued_at:timestamp valid_until:timestamp handling:Handling share_with:string[] "
    "legal_basis:string contact:Contact? related_alerts:uuid[]",
    "VehicleAlert": "alert_id:uuid revision:int category:VehicleAlertCategory plate:Plate "
    "vin:string? make:string? model:string? body_colour:BodyColour? "
    "linked_person_alerts:uuid[] last_seen:Location? reason:string? case_ref:string? "
    "caution_flags:CautionFlag[] requested_action:RequestedAction issuing_agency:string "
    "issued_at:timestamp valid_until:timestamp handling:Handling share_with:string[] "
    "legal_basis:string contact:Contact? related_alerts:uuid[]",
    "AlertStatusChange": "alert_id:uuid alert_kind:AlertKind status:AlertStatus "
    "reason:string? changed_at:timestamp agency:string",
    "AlertHit": "hit_id:uuid alert_id:uuid alert_kind:AlertKind reporting_agency:string "
    "observed_at:timestamp location:Location source:HitSource action_taken:string? "
    "details:string? confirmation_requested:boolean priority:Priority",
    "HitConfirmation": "hit_id:uuid alert_id:uuid result:HitResult note:string? "
    "confirmed_at:timestamp agency:string",
    "AssistanceRequest": "request_id:uuid case_ref:string? requesting_agency:string "
    "target_agencies:string[] type:AssistanceType priority:Priority ack_by:timestamp "
    "respond_by:timestamp linked_alerts:uuid[] description:string "
    "legal_documents:string[] contact:Contact?",
    "AssistanceResponse": "response_id:uuid request_id:uuid responding_agency:string "
    "status:AssistanceStatus message:string? results:string[] responded_at:timestamp",
    "Location": "lat:double lon:double admin_code:string address:string? observed_at:timestamp?",
    "Contact": "unit:string officer:string? phone:string?",
    "PhotoRef": "uri:string sha256:string",
    "Subject": "name:string name_pinyin:string? aliases:string[] sex:Sex birth_date:date? "
    "id_number:string? nationality:string? height_cm:int? description:string? "
    "photos:PhotoRef[]",
    "Plate": "number:string type:PlateType",
}

RECORD_SHAPES_MD = Path(__file__).resolve().parents[2] / "docs" / "record-shapes.md"


def _enums_of_record_shapes_md() -> dict[str, tuple[str, ...]]:
    """The symbols of each enum in the doc's "## Enums" list, in the doc's order.

    Read from the doc rather than written out here again or taken from
    ``schemas.models.ENUM_SYMBOLS``: the expectation stays the contract's, independent of
    the code it checks (the Avro enums, and through the test below the models).
    """
    text = RECORD_SHAPES_MD.read_text(encoding="utf-8")
    section = text.split("\n## Enums\n", 1)[1].split("\n## ", 1)[0]
    items = re.sub(r"\n\s+(?!- )", " ", section.strip()).split("\n")
    enums: dict[str, tuple[str, ...]] = {}
    for item in items:
        name, symbols = re.sub(r"\([^)]*\)", "", item.removeprefix("- ")).split(":", 1)
        enums[name.strip()] = tuple(s.strip() for s in symbols.split(","))
    return enums


ENUMS = _enums_of_record_shapes_md()


def _shape(node: Any, named: dict[str, Any]) -> str:
    if isinstance(node, list):
        return _shape(next(b for b in node if b != "null"), named) + "?"
    resolved = resolve(node, named)
    kind, logical = kind_of(resolved)
    if logical is not None:
        return {"timestamp-millis": "timestamp"}.get(logical, logical)
    if kind in ("record", "enum"):
        return str(resolved["name"]).rpartition(".")[2]
    if kind == "array":
        return _shape(resolved["items"], named) + "[]"
    return kind


def _current_named() -> dict[str, dict[str, Any]]:
    """Every named type of the current schemas, by full name."""
    catalog = repository_catalog()
    found: dict[str, dict[str, Any]] = {}
    for event_type in catalog.event_types:
        found.update(named_types(catalog.current(event_type).schema))
    return found


def _all_named() -> dict[str, dict[str, Any]]:
    """Every named type of the current schemas, by short name."""
    return {name.rpartition(".")[2]: node for name, node in _current_named().items()}


@pytest.mark.parametrize("name", sorted(RECORD_SHAPES))
def test_record_has_the_shape_of_record_shapes_md(name: str) -> None:
    """Field names, order, types and optionality are those of docs/record-shapes.md."""
    node = _all_named()[name]
    named = _current_named()
    actual = " ".join(f"{f['name']}:{_shape(f['type'], named)}" for f in node["fields"])
    assert RECORD_SHAPES[name] == actual


def test_enums_have_the_symbols_of_record_shapes_md() -> None:
    """Every enum has the symbols of docs/record-shapes.md, in that order."""
    named = _all_named()
    actual = {n: tuple(d["symbols"]) for n, d in named.items() if d["type"] == "enum"}
    assert ENUMS == actual


def test_enum_defaults_are_other_or_unknown() -> None:
    """Every enum's default is its OTHER or UNKNOWN symbol (Sex: UNKNOWN, GB/T 2261.1 code 0)."""
    named = _all_named()
    actual = {n: d.get("default") for n, d in named.items() if d["type"] == "enum"}
    expected = {n: "UNKNOWN" if "UNKNOWN" in symbols else "OTHER" for n, symbols in ENUMS.items()}
    assert expected == actual


def test_models_know_the_same_enum_symbols() -> None:
    """The pydantic models' ENUM_SYMBOLS and the Avro enums agree, symbol for symbol."""
    named = _all_named()
    avro_enums = {n: tuple(d["symbols"]) for n, d in named.items() if d["type"] == "enum"}
    assert avro_enums == dict(ENUM_SYMBOLS)


def test_repository_schemas_keep_the_house_rules() -> None:
    """The hx.exchange files break no house rule (docs, defaults, names, full references)."""
    assert [] == rule_issues(AVRO_DIR)


def _edit(file: str, change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def apply(avro_dir: Path) -> None:
        path = avro_dir / file
        schema = json.loads(path.read_text(encoding="utf-8"))
        change(schema)
        path.write_text(json.dumps(schema), encoding="utf-8")

    return apply


def _field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


BROKEN_RULES = [
    (
        _edit("hx.exchange.Contact.avsc", lambda s: _field(s, "phone").pop("doc")),
        "hx.exchange.Contact.avsc: Contact.phone: the field has no doc",
    ),
    (
        _edit("hx.exchange.Contact.avsc", lambda s: s.pop("doc")),
        "hx.exchange.Contact.avsc: Contact: the type has no doc",
    ),
    (
        _edit("hx.exchange.Contact.avsc", lambda s: _field(s, "phone").pop("default")),
        'hx.exchange.Contact.avsc: Contact.phone: an optional field needs "default": null',
    ),
    (
        _edit("hx.exchange.Subject.avsc", lambda s: _field(s, "aliases").pop("default")),
        'hx.exchange.Subject.avsc: Subject.aliases: a list field needs "default": []',
    ),
    (
        _edit("hx.exchange.Priority.avsc", lambda s: s.pop("default")),
        "hx.exchange.Priority.avsc: Priority: the enum needs a default symbol, OTHER or "
        "UNKNOWN, among its own",
    ),
    (
        _edit("hx.exchange.Plate.avsc", lambda s: _field(s, "type").update(type="PlateType")),
        "hx.exchange.Plate.avsc: Plate.type: refers to PlateType: write the full name "
        "(hx.exchange.PlateType)",
    ),
    (
        _edit("hx.exchange.Plate.avsc", lambda s: s.update(name="Plates")),
        "hx.exchange.Plate.avsc: holds hx.exchange.Plates: the file name must be its full name",
    ),
]


@pytest.mark.parametrize(("breaks", "issue"), BROKEN_RULES, ids=[r[1][:50] for r in BROKEN_RULES])
def test_broken_house_rule_is_reported(
    tmp_path: Path, breaks: Callable[[Path], None], issue: str
) -> None:
    """Each broken house rule is reported once, naming file, type, field and rule."""
    avro_dir = Path(shutil.copytree(AVRO_DIR, tmp_path / "avro"))
    breaks(avro_dir)
    assert [issue] == rule_issues(avro_dir)
