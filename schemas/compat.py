"""The evolution guard: every version of a type stays FULL_TRANSITIVE compatible.

Partners upgrade on their own calendars, so any two versions of an event type meet on
the bus: the newest must read every older version's bytes (backward) and every older
version must read the newest's (forward). For each older version and the newest, in both
directions, the guard

1. walks the two schemas the way Avro schema resolution does and names what breaks it
   (a field one side needs that the other does not write and that has no default, an
   enum symbol the reader lacks with no enum default, a type Avro cannot promote, a
   renamed named type, a changed logical type); and
2. proves it with data: writes sample records (``schemas/samples.py``: every enum symbol,
   every union branch, empty and full) with one version and reads them with the other
   through fastavro's schema resolution.

A current schema that is not frozen in ``schemas/avro/history`` is reported too: once
published, a version must stay in the catalog for as long as its bytes may be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from schemas.catalog import Catalog, SchemaVersion
from schemas.errors import IncompatibleSchema
from schemas.record_check import kind_of, named_types, resolve
from schemas.samples import sample_records

#: What Avro schema resolution promotes: writer type -> reader types.
PROMOTIONS: dict[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}
_NAMED = ("record", "error", "enum", "fixed")
_ADVICE = 'give it a default ("default": null for an optional field, [] for an array)'


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """One way two versions of a type fail to understand each other."""

    event_type: str
    #: The version whose bytes are read, and the version reading them (0: not applicable).
    writer: int
    reader: int
    path: str
    rule: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        if not self.writer:
            return f"{self.event_type}: {where}{self.rule}"
        return f"{self.event_type} v{self.reader} reading v{self.writer} bytes: {where}{self.rule}"


def resolution_issues(writer: SchemaVersion, reader: SchemaVersion) -> list[Incompatibility]:
    """What in the two schemas stops ``reader`` from resolving ``writer``'s bytes."""
    walk = _Resolution(writer, reader)
    walk.match(writer.schema, reader.schema, "")
    return walk.found


def roundtrip_issues(writer: SchemaVersion, reader: SchemaVersion) -> list[Incompatibility]:
    """Samples written with ``writer`` that ``reader`` fails to read (at most one reported)."""
    for number, sample in enumerate(sample_records(writer.schema)):
        buffer = BytesIO()
        schemaless_writer(buffer, writer.schema, sample)
        buffer.seek(0)
        try:
            schemaless_reader(buffer, writer.schema, reader.schema)
        except Exception as exc:  # any failure to resolve is the finding itself
            rule = f"sample record {number} does not resolve: {type(exc).__name__}: {exc}"
            return [Incompatibility(writer.event_type, writer.version, reader.version, "", rule)]
    return []


def check_catalog(catalog: Catalog) -> list[Incompatibility]:
    """Every incompatibility in the catalog; empty when the contract may ship."""
    found: list[Incompatibility] = []
    for event_type in catalog.event_types:
        newest = catalog.current(event_type)
        if not newest.frozen:
            found.append(
                Incompatibility(
                    event_type,
                    0,
                    0,
                    "",
                    f"the current schema ({newest.path.name}) differs from every frozen "
                    f"version: freeze it as v{newest.version} "
                    f"(hxbus schemas freeze {event_type})",
                )
            )
        for older in catalog.versions(event_type)[:-1]:
            for writer, reader in ((older, newest), (newest, older)):
                found.extend(resolution_issues(writer, reader))
                found.extend(roundtrip_issues(writer, reader))
    return found


def assert_compatible(catalog: Catalog) -> None:
    """Raise ``IncompatibleSchema`` listing every incompatibility, if there is one."""
    found = check_catalog(catalog)
    if found:
        raise IncompatibleSchema("\n".join(str(issue) for issue in found))


class _Resolution:
    """Walks a writer and a reader schema side by side, as Avro resolution does."""

    def __init__(self, writer: SchemaVersion, reader: SchemaVersion) -> None:
        self._writer = writer
        self._reader = reader
        self._writer_named = named_types(writer.schema)
        self._reader_named = named_types(reader.schema)
        self._seen: set[tuple[str, str]] = set()
        self.found: list[Incompatibility] = []

    def _add(self, path: str, rule: str) -> None:
        self.found.append(
            Incompatibility(
                self._writer.event_type, self._writer.version, self._reader.version, path, rule
            )
        )

    def match(self, writer: Any, reader: Any, path: str) -> None:
        w_node = resolve(writer, self._writer_named)
        r_node = resolve(reader, self._reader_named)
        w_kind, w_logical = kind_of(w_node)
        r_kind, r_logical = kind_of(r_node)
        if w_kind == "union":
            for branch in w_node:
                self.match(branch, reader, path)
            return
        if r_kind == "union":
            self._into_union(w_node, r_node, path)
            return
        if w_kind != r_kind:
            if r_kind not in PROMOTIONS.get(w_kind, frozenset()):
                self._add(
                    path, f"type changed from {w_kind} to {r_kind}, which Avro cannot promote"
                )
            return
        if w_logical != r_logical:
            self._add(
                path,
                f"logical type changed from {w_logical or 'none'} to {r_logical or 'none'}: "
                "the same bytes would mean something else",
            )
        if w_kind in _NAMED:
            self._named(w_node, r_node, w_kind, path)
        elif w_kind == "array":
            self.match(w_node["items"], r_node["items"], f"{path}[]")
        elif w_kind == "map":
            self.match(w_node["values"], r_node["values"], f"{path}{{}}")

    def _into_union(self, writer: Any, branches: list[Any], path: str) -> None:
        """A non-union writer type resolves to the first reader branch that fits it."""
        w_kind, _ = kind_of(writer)
        resolved = [resolve(b, self._reader_named) for b in branches]
        for branch, node in zip(branches, resolved, strict=True):
            if kind_of(node)[0] == w_kind and (w_kind not in _NAMED or _same_name(writer, node)):
                self.match(writer, branch, path)
                return
        if any(kind_of(n)[0] in PROMOTIONS.get(w_kind, frozenset()) for n in resolved):
            return
        self._add(path, f"a {w_kind} written here is none of the reader's types")

    def _named(self, writer: dict[str, Any], reader: dict[str, Any], kind: str, path: str) -> None:
        if not _same_name(writer, reader):
            self._add(path, f"type {writer['name']} was renamed {reader['name']} without an alias")
            return
        key = (writer["name"], path)
        if key in self._seen:  # a recursive type: its fields were matched once already
            return
        self._seen.add(key)
        if kind == "enum":
            self._enum(writer, reader, path)
        elif kind == "fixed" and writer["size"] != reader["size"]:
            self._add(path, f"fixed size changed from {writer['size']} to {reader['size']}")
        elif kind in ("record", "error"):
            self._record(writer, reader, path)

    def _enum(self, writer: dict[str, Any], reader: dict[str, Any], path: str) -> None:
        unknown = [s for s in writer["symbols"] if s not in reader["symbols"]]
        if unknown and "default" not in reader:
            name = reader["name"].rpartition(".")[2]
            self._add(
                path,
                f"enum {name}: symbol {', '.join(unknown)} of v{self._writer.version} is "
                f"unknown to v{self._reader.version}, whose enum has no default "
                "(a symbol removed, or added, without an enum default)",
            )

    def _record(self, writer: dict[str, Any], reader: dict[str, Any], path: str) -> None:
        written = {f["name"]: f for f in writer["fields"]}
        for field in reader["fields"]:
            field_path = f"{path}.{field['name']}" if path else field["name"]
            names = [field["name"], *field.get("aliases", [])]
            source = next((written[n] for n in names if n in written), None)
            if source is not None:
                self.match(source["type"], field["type"], field_path)
            elif "default" not in field:
                self._add(
                    field_path,
                    f"v{self._reader.version} needs this field, v{self._writer.version} does "
                    f"not write it, and v{self._reader.version} has no default for it (a "
                    f"field added or removed without a default: {_ADVICE})",
                )


def _same_name(writer: dict[str, Any], reader: dict[str, Any]) -> bool:
    """Named types resolve when the full names agree or the reader lists an alias."""
    if writer["name"] == reader["name"]:
        return True
    namespace = reader["name"].rpartition(".")[0]
    aliases = {a if "." in a else f"{namespace}.{a}" for a in reader.get("aliases", [])}
    return writer["name"] in aliases
