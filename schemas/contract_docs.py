"""The contract as Markdown (``docs/contract.md``), rendered from the catalog's schemas.

One section per event type with every field path (nested records flattened as
``subject.photos[].uri``), its type, whether it is required, and its ``doc``; then every
enum with its symbols and default. The Avro files are the only source: the Markdown is
regenerated with ``hxbus schemas docs``, and a unit test fails when the committed file
differs from a fresh render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schemas.catalog import Catalog
from schemas.headers import HEADERS
from schemas.record_check import kind_of, named_types, resolve

#: The committed reference, relative to the repository root.
CONTRACT_DOC = Path(__file__).resolve().parent.parent / "docs" / "contract.md"

_LOGICAL_NAMES: dict[tuple[str, str | None], str] = {
    ("long", "timestamp-millis"): "timestamp (UTC, ms)",
    ("int", "date"): "date",
    ("string", "uuid"): "uuid",
}


def _short(name: str) -> str:
    return name.rpartition(".")[2]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


class _Renderer:
    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self.enums: dict[str, dict[str, Any]] = {}

    def event(self, event_type: str) -> list[str]:
        current = self._catalog.current(event_type)
        named = named_types(current.schema)
        versions = ", ".join(
            f"v{v.version} `{v.fingerprint.hex()}`" for v in self._catalog.versions(event_type)
        )
        lines = [
            f"## {event_type}",
            "",
            _cell(current.schema.get("doc", "")),
            "",
            f"Current version: v{current.version}. Versions in the catalog (fingerprint, "
            f"hex of the 8 little-endian bytes): {versions}.",
            "",
            "| field | type | presence | meaning |",
            "|---|---|---|---|",
        ]
        self._fields(current.schema, "", named, lines)
        lines.append("")
        return lines

    def _fields(
        self, record: dict[str, Any], prefix: str, named: dict[str, Any], lines: list[str]
    ) -> None:
        for field in record["fields"]:
            path = f"{prefix}{field['name']}"
            node = field["type"]
            presence = "required"
            if isinstance(node, list) and "null" in node and len(node) == 2:
                node = next(b for b in node if b != "null")
                presence = "optional (null)"
            resolved = resolve(node, named)
            kind, _ = kind_of(resolved)
            if kind == "array":
                presence = "list, default []" if "default" in field else "list, required"
            kind_text = self._type(node, named)
            doc = _cell(field.get("doc", ""))
            lines.append(f"| `{path}` | {kind_text} | {presence} | {doc} |")
            self._nested(resolved, path, named, lines)

    def _nested(self, node: Any, path: str, named: dict[str, Any], lines: list[str]) -> None:
        kind, _ = kind_of(node)
        if kind == "record":
            self._fields(node, f"{path}.", named, lines)
        elif kind == "array":
            items = resolve(node["items"], named)
            self._nested(items, f"{path}[]", named, lines)

    def _type(self, node: Any, named: dict[str, Any]) -> str:
        resolved = resolve(node, named)
        kind, logical = kind_of(resolved)
        if (kind, logical) in _LOGICAL_NAMES:
            return _LOGICAL_NAMES[(kind, logical)]
        if kind == "enum":
            name = _short(resolved["name"])
            self.enums[name] = resolved
            return f"enum [{name}](#{name.lower()})"
        if kind == "record":
            return f"record {_short(resolved['name'])}"
        if kind == "array":
            return f"list of {self._type(resolved['items'], named)}"
        if kind == "map":
            return f"map of {self._type(resolved['values'], named)}"
        if kind == "union":
            return " or ".join(self._type(branch, named) for branch in resolved)
        return str(kind)

    def enum_sections(self) -> list[str]:
        lines = ["## Enums", ""]
        for name in sorted(self.enums):
            enum = self.enums[name]
            lines += [
                f"### {name}",
                "",
                _cell(enum.get("doc", "")),
                "",
                "Symbols: " + ", ".join(f"`{s}`" for s in enum["symbols"]) + ".",
                f"Default (what a reader reads for a symbol it does not know): "
                f"`{enum.get('default', 'none')}`.",
                "",
            ]
        return lines


def _header_section() -> list[str]:
    """The Kafka headers every event travels with (``schemas.headers.HEADERS``)."""
    lines = [
        "## Kafka headers",
        "",
        "CloudEvents 1.0, Kafka protocol binding, binary mode: every attribute is a `ce_<name>` "
        "header, the extension attributes included, and `content-type` carries "
        "datacontenttype. Values are UTF-8. The signature is specified in "
        "[signing.md](signing.md).",
        "",
        "| header | required | meaning |",
        "|---|---|---|",
    ]
    for spec in HEADERS:
        required = "required" if spec.required else "optional"
        lines.append(f"| `{spec.name}` | {required} | {_cell(spec.meaning)} |")
    lines.append("")
    return lines


def render_contract(catalog: Catalog) -> str:
    """The whole reference, as the text of ``docs/contract.md``."""
    renderer = _Renderer(catalog)
    lines = [
        "# The exchange contract",
        "",
        "<!-- Generated by `hxbus schemas docs` from schemas/avro/. Do not edit by hand. -->",
        "",
        "Every event is an Avro record of namespace `hx.exchange`, sent in single-object "
        "encoding (`C3 01`, the writer schema's 8-byte CRC-64-AVRO fingerprint, the body). "
        "Field paths use `.` for nested records and `[]` for list elements. An optional "
        "value that is absent is null; an absent list is empty.",
        "",
        *_header_section(),
    ]
    for event_type in catalog.event_types:
        lines += renderer.event(event_type)
    lines += renderer.enum_sections()
    return "\n".join(lines).rstrip("\n") + "\n"
