"""The house rules of the ``hx.exchange`` schema files, checked by ``hxbus schemas check``.

They keep the contract readable and able to evolve: one named type per file named after
its full name; a ``doc`` on every type and field (a duty officer reads docs/contract.md);
optional values as ``["null", T]`` with ``"default": null`` and lists with
``"default": []`` (so a field can later be added or removed compatibly); every enum with
a default symbol, OTHER or UNKNOWN (so a partner can add symbols; it is the last symbol
everywhere but in Sex, whose UNKNOWN comes first as GB/T 2261.1 code 0); references
to other types by full name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schemas.catalog import AVRO_DIR, NAMESPACE, PRIMITIVES, read_json

ENUM_DEFAULTS = ("OTHER", "UNKNOWN")


def rule_issues(avro_dir: Path = AVRO_DIR) -> list[str]:
    """Every broken house rule in the ``hx.exchange.*.avsc`` files, as ``file: path: rule``."""
    issues: list[str] = []
    for path in sorted(avro_dir.glob(f"{NAMESPACE}.*.avsc")):
        schema = read_json(path)
        issues.extend(f"{path.name}: {issue}" for issue in _named_type_issues(schema, path))
    return issues


def _named_type_issues(schema: Any, path: Path) -> list[str]:
    if not isinstance(schema, dict) or schema.get("type") not in ("record", "enum", "fixed"):
        return ["the file must hold one named type (record, enum or fixed)"]
    name = schema.get("name", "")
    found = []
    if f"{schema.get('namespace')}.{name}.avsc" != path.name:
        found.append(f"holds {schema.get('namespace')}.{name}: the file name must be its full name")
    if not schema.get("doc"):
        found.append(f"{name}: the type has no doc")
    if schema["type"] == "enum":
        default = schema.get("default")
        if default not in ENUM_DEFAULTS or default not in schema.get("symbols", []):
            found.append(
                f"{name}: the enum needs a default symbol, OTHER or UNKNOWN, among its own"
            )
    for field in schema.get("fields", []):
        found.extend(f"{name}.{issue}" for issue in _field_issues(field))
    return found


def _field_issues(field: dict[str, Any]) -> list[str]:
    name = field.get("name", "?")
    found = []
    if not field.get("doc"):
        found.append(f"{name}: the field has no doc")
    kind = field.get("type")
    if isinstance(kind, list):
        if len(kind) != 2 or kind[0] != "null":
            found.append(f'{name}: an optional value is written ["null", T]')
        if "default" not in field or field["default"] is not None:
            found.append(f'{name}: an optional field needs "default": null')
    elif isinstance(kind, dict) and kind.get("type") == "array" and field.get("default") != []:
        found.append(f'{name}: a list field needs "default": []')
    elif isinstance(kind, dict) and kind.get("type") in ("record", "enum", "fixed"):
        found.append(f"{name}: a named type is defined in its own file, not inline")
    found.extend(f"{name}: {issue}" for issue in _reference_issues(kind))
    return found


def _reference_issues(node: Any) -> list[str]:
    """Named types are referred to by full name (``hx.exchange.Location``)."""
    if isinstance(node, str):
        if node not in PRIMITIVES and "." not in node:
            return [f"refers to {node}: write the full name ({NAMESPACE}.{node})"]
        return []
    if isinstance(node, list):
        return [issue for branch in node for issue in _reference_issues(branch)]
    if isinstance(node, dict):
        inner = node.get("items", node.get("values"))
        return _reference_issues(inner) if inner is not None else []
    return []
