"""The wire codec: records to Avro single-object encoding and back.

A value is ``C3 01``, the 8-byte little-endian CRC-64-AVRO fingerprint of the writer
schema, then the Avro binary body. The writer is always the current version of the event
type; the reader finds the writer by fingerprint in the catalog and reads into its own
(current) version by Avro schema resolution, so a partner one version behind or ahead
still understands us.

This is the one boundary where fastavro's exceptions become ours: ``ValidationFailed``
on encode (with the field path), ``BadMagic`` / ``UnknownSchema`` / ``TruncatedBody`` on
decode. Everything is prepared once in ``__init__``; per message there is one fastavro
call and a few checks (see ``schemas/record_check.py`` for why those checks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO
from typing import Any, cast

from fastavro import schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError
from fastavro.schema import parse_schema

from schemas.catalog import Catalog, SchemaVersion, repository_catalog
from schemas.errors import (
    BadMagic,
    ConfigError,
    Issue,
    TruncatedBody,
    UnknownSchema,
    ValidationFailed,
)
from schemas.record_check import Check, Refused, compile_gate, compile_uuid_check, explain

#: Avro single-object encoding marker.
MAGIC = b"\xc3\x01"
#: Marker and fingerprint: where the body starts.
HEADER_SIZE = 10

#: What fastavro raises on a record it cannot write.
_WRITE_ERRORS = (TypeError, ValueError, KeyError, AttributeError, OverflowError)
#: What fastavro raises on a body it cannot read (found by fuzzing, see test_codec.py).
_READ_ERRORS = (
    EOFError,
    ValueError,  # includes UnicodeDecodeError
    IndexError,
    KeyError,
    TypeError,
    OverflowError,
    SchemaResolutionError,
)


def without_uuid_logical_type(source: Any) -> Any:
    """The schema with ``uuid`` strings as plain strings: the same bytes, no UUID objects.

    The logical type does not change the binary encoding or the fingerprint, so writing
    and reading with this form gives identical bytes while sparing fastavro a
    ``uuid.UUID`` per id each way (the record form holds uuids as ``str``). The codec
    checks uuid syntax itself.
    """
    if isinstance(source, list):
        return [without_uuid_logical_type(branch) for branch in source]
    if not isinstance(source, dict):
        return source
    if source.get("logicalType") == "uuid" and source.get("type") == "string":
        return "string"
    return {key: without_uuid_logical_type(value) for key, value in source.items()}


def _parse_plain(version: SchemaVersion) -> dict[str, Any]:
    parsed = parse_schema(without_uuid_logical_type(version.source), named_schemas={})
    if not isinstance(parsed, dict):  # the catalog admits records only
        raise ConfigError(f"{version.label} is not a record schema")
    return parsed


@dataclass(frozen=True, slots=True)
class _Writer:
    version: SchemaVersion
    header: bytes
    schema: dict[str, Any]
    gate: Check


@dataclass(frozen=True, slots=True)
class _Reader:
    writer: SchemaVersion
    writer_schema: dict[str, Any]
    #: The current version's schema when the writer is older or newer; None when equal.
    reader_schema: dict[str, Any] | None
    current: SchemaVersion
    uuid_check: Check | None


class Codec:
    """Encodes records of the current schemas; decodes any version the catalog knows."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog if catalog is not None else repository_catalog()
        self._writers: dict[str, _Writer] = {}
        self._readers: dict[bytes, _Reader] = {}
        plain: dict[bytes, dict[str, Any]] = {v.fingerprint: _parse_plain(v) for v in self.catalog}
        for event_type in self.catalog.event_types:
            current = self.catalog.current(event_type)
            current_schema = plain[current.fingerprint]
            self._writers[event_type] = _Writer(
                version=current,
                header=MAGIC + current.fingerprint,
                schema=current_schema,
                gate=compile_gate(current.schema),
            )
            uuid_check = compile_uuid_check(current.schema)
            for version in self.catalog.versions(event_type):
                self._readers[version.fingerprint] = _Reader(
                    writer=version,
                    writer_schema=plain[version.fingerprint],
                    reader_schema=None if version is current else current_schema,
                    current=current,
                    uuid_check=uuid_check,
                )

    def fingerprint(self, event_type: str) -> bytes:
        """The 8-byte fingerprint this codec writes for ``event_type`` (its current version)."""
        return self._writer(event_type).version.fingerprint

    def encode(self, event_type: str, record: Mapping[str, Any]) -> bytes:
        """The single-object encoding of ``record`` with the current schema of its type.

        Raises ``ValidationFailed`` naming every field path that does not fit the schema:
        wrong type, int outside 32 bits, missing required field, unknown enum symbol,
        unknown field, naive datetime, malformed uuid.
        """
        writer = self._writer(event_type)
        try:
            prepared = writer.gate(record)
        except Refused:
            raise self._invalid(writer, record, None) from None
        buffer = BytesIO()
        buffer.write(writer.header)
        try:
            schemaless_writer(buffer, writer.schema, prepared, strict_allow_default=True)
        except _WRITE_ERRORS as exc:
            raise self._invalid(writer, record, exc) from exc
        return buffer.getvalue()

    def decode(self, value: bytes) -> tuple[str, dict[str, Any]]:
        """The event type and the record, in this process's current version of the type."""
        if value[:2] != MAGIC:
            raise BadMagic(
                f"value starts with {bytes(value[:2]).hex() or 'nothing'}, not c301: "
                "not Avro single-object encoding"
            )
        if len(value) < HEADER_SIZE:
            raise TruncatedBody(f"value of {len(value)} bytes ends inside the 10-byte header")
        fingerprint = bytes(value[2:HEADER_SIZE])
        reader = self._readers.get(fingerprint)
        if reader is None:
            raise UnknownSchema(f"writer fingerprint {fingerprint.hex()} is not in the catalog")
        stream = BytesIO(value)
        stream.seek(HEADER_SIZE)
        try:
            record = cast(
                "dict[str, Any]",
                schemaless_reader(stream, reader.writer_schema, reader.reader_schema),
            )
        except _READ_ERRORS as exc:
            raise TruncatedBody(
                f"body does not decode as {reader.writer.label}: {type(exc).__name__}: {exc}"
            ) from exc
        left = len(value) - stream.tell()
        if left:
            raise TruncatedBody(
                f"{left} bytes left after the {reader.writer.label} record: "
                "the body was not written with this schema"
            )
        if reader.uuid_check is not None:
            try:
                reader.uuid_check(record)
            except Refused:
                issues = explain(reader.current.schema, record)
                raise TruncatedBody(
                    f"{reader.writer.label} body breaks the schema: "
                    + "; ".join(str(issue) for issue in issues)
                ) from None
        return reader.writer.event_type, record

    def _writer(self, event_type: str) -> _Writer:
        try:
            return self._writers[event_type]
        except KeyError:
            known = ", ".join(self.catalog.event_types)
            raise ValidationFailed(
                [Issue("type", f"{event_type!r} is not an event type of the contract ({known})")]
            ) from None

    @staticmethod
    def _invalid(
        writer: _Writer, record: Mapping[str, Any], error: Exception | None
    ) -> ValidationFailed:
        issues = explain(writer.version.schema, record)
        if not issues:  # fastavro refused something our explanation does not know
            detail = f": {type(error).__name__}: {error}" if error is not None else ""
            issues = [Issue("", f"does not fit {writer.version.label}{detail}")]
        return ValidationFailed(issues)
