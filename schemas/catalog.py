"""The schema catalog: every version of every event type, found by fingerprint.

A reader meets bytes written by any version a partner still runs, so the catalog holds
them all: the current schemas (``schemas/avro/hx.exchange.<Name>.avsc``, one named type
per file) and every frozen version (``schemas/avro/history/<EventType>/v<N>.avsc``, each
one self-contained so that it never changes when a shared type changes later). See
``schemas/avro/README.md`` for the layout and the steps of a contract change.

A version is its parsing canonical form: the current schema of a type *is* the frozen
version with the same canonical form (doc edits change nothing on the wire). A current
schema that matches no frozen version gets the next number and ``frozen=False``, so the
process still runs while a developer edits; ``hxbus schemas check`` refuses it until it is
frozen. Everything is parsed once, when the catalog is built.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from fastavro.schema import SchemaParseException, fingerprint, parse_schema
from fastavro.schema import to_parsing_canonical_form as _canonical_form

from schemas.envelope import EVENT_TYPES
from schemas.errors import ConfigError, UnknownSchema
from schemas.package_files import package_file

NAMESPACE = "hx.exchange"
#: The packaged schemas: current files here, frozen versions under ``history/``.
AVRO_DIR = package_file("schemas", "avro")
HISTORY_DIRNAME = "history"
_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.avsc$")

#: Avro type names that are not references to a named type.
PRIMITIVES = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string"},
)


def fullname(event_type: str) -> str:
    """The Avro full name of an event type or shared type: ``hx.exchange.PersonAlert``."""
    return f"{NAMESPACE}.{event_type}"


def schema_fingerprint(canonical_form: str) -> bytes:
    """The 8-byte CRC-64-AVRO fingerprint, little-endian, as single-object encoding writes it.

    fastavro returns the fingerprint as hex of the little-endian bytes (the order the Avro
    specification and Apache Avro's own implementation use); a unit test proves both.
    """
    return bytes.fromhex(fingerprint(canonical_form, "CRC-64-AVRO"))


def read_json(path: Path) -> Any:
    """A schema file's JSON; a broken file is a ConfigError that names it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable JSON schema file: {exc}") from exc


def self_contained(name: str, source_dir: Path = AVRO_DIR) -> dict[str, Any]:
    """The schema of named type ``name`` with every named type it uses written inline.

    Each named type is defined where it is first used and referred to by full name after,
    as the Avro specification requires; the result parses on its own, which is what a
    frozen version must do.
    """
    defined: set[str] = set()

    def inline(node: Any, namespace: str) -> Any:
        if isinstance(node, str):
            if node in PRIMITIVES:
                return node
            full = node if "." in node else f"{namespace}.{node}"
            if full in defined:
                return node
            path = source_dir / f"{full}.avsc"
            if not path.is_file():
                raise ConfigError(f"{path}: missing; the contract refers to type {full}")
            defined.add(full)
            return inline(read_json(path), namespace)
        if isinstance(node, list):
            return [inline(branch, namespace) for branch in node]
        if not isinstance(node, dict):
            return node
        out = dict(node)
        kind = node.get("type")
        if kind in ("record", "error", "enum", "fixed"):
            name = node["name"]
            if "." in name:
                namespace = name.rpartition(".")[0]
            else:
                namespace = node.get("namespace", namespace)
                name = f"{namespace}.{name}"
            defined.add(name)
        if kind in ("record", "error"):
            out["fields"] = [
                {**f, "type": inline(f["type"], namespace)} for f in node.get("fields", [])
            ]
        elif kind == "array":
            out["items"] = inline(node["items"], namespace)
        elif kind == "map":
            out["values"] = inline(node["values"], namespace)
        return out

    result: dict[str, Any] = inline(name, name.rpartition(".")[0] or NAMESPACE)
    return result


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One version of one event type, parsed, with its canonical form and fingerprint."""

    event_type: str
    version: int
    #: fastavro's parsed form, ready for ``schemaless_writer``/``schemaless_reader``.
    schema: dict[str, Any] = field(repr=False, compare=False)
    canonical_form: str = field(repr=False)
    fingerprint: bytes
    #: The self-contained JSON as written (with every ``doc``).
    source: dict[str, Any] = field(repr=False, compare=False)
    #: Where it came from: a frozen version file, or the current ``.avsc`` file.
    path: Path = field(compare=False)
    #: False for a current schema that matches no frozen version yet.
    frozen: bool = True

    @property
    def label(self) -> str:
        """``PersonAlert v2`` — how messages name a version."""
        return f"{self.event_type} v{self.version}"


def build_version(
    event_type: str, version: int, source: dict[str, Any], path: Path, *, frozen: bool = True
) -> SchemaVersion:
    """Parse one schema (a self-contained JSON) into a catalog entry."""
    try:
        parsed = parse_schema(source, named_schemas={})
    except (SchemaParseException, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a valid Avro schema: {exc}") from exc
    if not isinstance(parsed, dict):
        raise ConfigError(f"{path}: an event type must be a record")
    if parsed.get("name") != fullname(event_type):
        raise ConfigError(f"{path}: names {parsed.get('name')}, expected {fullname(event_type)}")
    canonical = _canonical_form(parsed)
    return SchemaVersion(
        event_type=event_type,
        version=version,
        schema=parsed,
        canonical_form=canonical,
        fingerprint=schema_fingerprint(canonical),
        source=source,
        path=path,
        frozen=frozen,
    )


def frozen_version_files(history_dir: Path) -> Iterator[tuple[int, Path]]:
    """``(n, path)`` of every ``v<n>.avsc`` in one event type's history folder, by n."""
    if not history_dir.is_dir():
        return
    numbered = []
    for path in history_dir.iterdir():
        match = _VERSION_FILE.match(path.name)
        if match is None:
            raise ConfigError(f"{path}: a frozen version file is named v<N>.avsc")
        numbered.append((int(match.group(1)), path))
    numbered.sort()
    for expected, (number, path) in enumerate(numbered, start=1):
        if number != expected:
            raise ConfigError(f"{path}: versions must be numbered 1, 2, … without gaps")
        yield number, path


class Catalog:
    """Every known version of every event type; look-ups by fingerprint and by version."""

    def __init__(self, versions: Iterable[SchemaVersion]) -> None:
        self._by_type: dict[str, list[SchemaVersion]] = {}
        self._by_fingerprint: dict[bytes, SchemaVersion] = {}
        for entry in sorted(versions, key=lambda v: (v.event_type, v.version)):
            same_type = self._by_type.setdefault(entry.event_type, [])
            if same_type and same_type[-1].version == entry.version:
                raise ConfigError(f"{entry.label}: defined twice ({entry.path})")
            clash = self._by_fingerprint.get(entry.fingerprint)
            if clash is not None:
                raise ConfigError(
                    f"{entry.label} ({entry.path}) has the canonical form of {clash.label} "
                    f"({clash.path}): one schema, one version"
                )
            same_type.append(entry)
            self._by_fingerprint[entry.fingerprint] = entry

    @classmethod
    def load(cls, avro_dir: Path = AVRO_DIR) -> Catalog:
        """Read the current schemas and every frozen version under ``avro_dir``."""
        versions: list[SchemaVersion] = []
        for event_type in EVENT_TYPES:
            frozen = [
                build_version(event_type, number, read_json(path), path)
                for number, path in frozen_version_files(avro_dir / HISTORY_DIRNAME / event_type)
            ]
            current_path = avro_dir / f"{fullname(event_type)}.avsc"
            source = self_contained(fullname(event_type), avro_dir)
            current = build_version(event_type, len(frozen) + 1, source, current_path)
            same = next((v for v in frozen if v.fingerprint == current.fingerprint), None)
            if same is None:
                versions.extend([*frozen, replace(current, frozen=False)])
            elif same is not frozen[-1]:
                raise ConfigError(
                    f"{current_path}: the current {event_type} is {same.label} again, but "
                    f"v{frozen[-1].version} is newer: a version never comes back"
                )
            else:
                # The current file, not the frozen copy, so its docs are today's docs.
                versions.extend([*frozen[:-1], replace(current, version=same.version)])
        return cls(versions)

    @property
    def event_types(self) -> tuple[str, ...]:
        """The event types the catalog knows, in the contract's order."""
        known = [t for t in EVENT_TYPES if t in self._by_type]
        return (*known, *sorted(set(self._by_type) - set(known)))

    def versions(self, event_type: str) -> tuple[SchemaVersion, ...]:
        """Every version of ``event_type``, oldest first."""
        return tuple(self._type(event_type))

    def current(self, event_type: str) -> SchemaVersion:
        """The version this process writes and reads into: the newest."""
        return self._type(event_type)[-1]

    def get(self, event_type: str, version: int) -> SchemaVersion:
        """One version of one type; ``UnknownSchema`` when there is no such version."""
        for entry in self._type(event_type):
            if entry.version == version:
                return entry
        raise UnknownSchema(f"{event_type}: no version {version} in the catalog")

    def by_fingerprint(self, fingerprint: bytes) -> SchemaVersion:
        """The version whose writer fingerprint this is; ``UnknownSchema`` when none."""
        try:
            return self._by_fingerprint[fingerprint]
        except KeyError:
            raise UnknownSchema(
                f"fingerprint {fingerprint.hex()} is not in the schema catalog"
            ) from None

    def __iter__(self) -> Iterator[SchemaVersion]:
        for event_type in self.event_types:
            yield from self._by_type[event_type]

    def _type(self, event_type: str) -> list[SchemaVersion]:
        try:
            return self._by_type[event_type]
        except KeyError:
            raise UnknownSchema(f"{event_type} is not an event type of the catalog") from None


@cache
def repository_catalog() -> Catalog:
    """The catalog of the schemas shipped in this repository, loaded once per process."""
    return Catalog.load(AVRO_DIR)


def freeze_current(event_type: str, avro_dir: Path = AVRO_DIR) -> Path | None:
    """Write the current schema of ``event_type`` as its next frozen version.

    Returns the new file, or None when the current schema is already frozen.
    """
    catalog = Catalog.load(avro_dir)
    current = catalog.current(event_type)
    if current.frozen:
        return None
    path = avro_dir / HISTORY_DIRNAME / event_type / f"v{current.version}.avsc"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current.source, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return path
