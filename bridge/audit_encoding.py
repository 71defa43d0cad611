"""The audit record's Avro bytes, written by a writer compiled once from its schema.

Why not the codec alone: its encode (gate, then fastavro's ``schemaless_writer``) took ~20
us for one audit record on a quiet core, ~35 in the bridge under load (the bridge writes
one per message and receiving agency, issue 17): 15 of the record's 28
fields are ``["null", X]`` unions, and fastavro picks a union's branch by validating the
value against each branch in turn. The schema is flat (strings, longs, enums, timestamps,
arrays of strings, optional ones of those), so a writer compiled from it writes the same
bytes in ~7 us (quiet core).

Same bytes and same refusals as ``schemas.Codec.encode``: the compiled writer takes a
value only where the codec's gate would pass it and fastavro would write it so (exact
types, a canonical uuid in a uuid field, longs and ints within their sizes, an aware
datetime, a known enum symbol, every field present and no other); for anything else it
steps aside and the codec encodes the record, or raises ``ValidationFailed`` naming the
field and the rule. A schema with a type the writer does not know (a nested record, a
map, bytes, floats, a general union) gets no compiled writer: the codec writes it all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from schemas import Codec
from schemas.codec import MAGIC
from schemas.record_check import (
    INT_MAX,
    INT_MIN,
    LONG_MAX,
    LONG_MIN,
    UUID_PATTERN,
    kind_of,
    named_types,
    resolve,
)

#: Appends the encoding of one value to the parts of a record (raises ``_Aside``).
_Write = Callable[[Any, list[bytes]], None]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Aside(Exception):
    """Internal: a value the compiled writer leaves to the codec (which decides)."""


def _varint(n: int) -> bytes:
    """The base-128 varint of a non-negative int (Avro's long after zig-zag)."""
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


#: The varints of 0..2047: the zig-zag of -1024..1023 (string lengths up to 1,023 bytes).
_SMALL = tuple(_varint(n) for n in range(2048))


def _long(value: int) -> bytes:
    """Avro's encoding of a long (zig-zag, then varint); ``value`` within 64 bits."""
    n = (value << 1) ^ (value >> 63)
    return _SMALL[n] if n < 2048 else _varint(n)


def _write_string(value: Any, out: list[bytes]) -> None:
    if type(value) is not str:
        raise _Aside
    data = value.encode()
    out.append(_long(len(data)))
    out.append(data)


def _write_uuid(value: Any, out: list[bytes], _match: Any = UUID_PATTERN.fullmatch) -> None:
    if type(value) is not str or _match(value) is None:
        raise _Aside
    out.append(b"\x48")  # 36 characters, zig-zagged
    out.append(value.encode())


def _write_long(value: Any, out: list[bytes]) -> None:
    if type(value) is not int or not LONG_MIN <= value <= LONG_MAX:
        raise _Aside
    out.append(_long(value))


def _write_int(value: Any, out: list[bytes]) -> None:
    if type(value) is not int or not INT_MIN <= value <= INT_MAX:
        raise _Aside
    out.append(_long(value))


def _write_boolean(value: Any, out: list[bytes]) -> None:
    if type(value) is not bool:
        raise _Aside
    out.append(b"\x01" if value else b"\x00")


def _timestamp_millis() -> _Write:
    """A field's timestamp writer; it keeps the last time it wrote (a batch's records
    share ``recorded_at``, a broadcast's records their ``delivered_at``)."""
    # One (time, bytes) pair, read and replaced whole: writers on two threads never see
    # one's time with the other's bytes.
    last: list[tuple[Any, bytes]] = [(None, b"")]

    def write(value: Any, out: list[bytes]) -> None:
        seen, seen_bytes = last[0]
        if value is seen:
            out.append(seen_bytes)
            return
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise _Aside
        # fastavro's own arithmetic (prepare_timestamp_millis): whole days and seconds,
        # then the microseconds truncated to milliseconds.
        delta = value - _EPOCH
        millis = (delta.days * 86400 + delta.seconds) * 1000 + int(delta.microseconds / 1000)
        if not LONG_MIN <= millis <= LONG_MAX:
            raise _Aside
        encoded = _long(millis)
        last[0] = (value, encoded)
        out.append(encoded)

    return write


def _enum(symbols: list[str]) -> _Write:
    index = {symbol: _long(i) for i, symbol in enumerate(symbols)}

    def write(value: Any, out: list[bytes]) -> None:
        encoded = index.get(value) if type(value) is str else None
        if encoded is None:
            raise _Aside
        out.append(encoded)

    return write


def _array(items: _Write) -> _Write:
    def write(value: Any, out: list[bytes]) -> None:
        if not isinstance(value, list | tuple):
            raise _Aside
        if value:
            out.append(_long(len(value)))
            for item in value:
                items(item, out)
        out.append(b"\x00")

    return write


def _optional(inner: _Write, null_index: int) -> _Write:
    null, other = _long(null_index), _long(1 - null_index)
    if inner is _write_string:
        # The commonest optional field, written in one call.
        def write_string(value: Any, out: list[bytes]) -> None:
            if value is None:
                out.append(null)
                return
            if type(value) is not str:
                raise _Aside
            data = value.encode()
            out += (other, _long(len(data)), data)

        return write_string

    def write(value: Any, out: list[bytes]) -> None:
        if value is None:
            out.append(null)
        else:
            out.append(other)
            inner(value, out)

    return write


_LEAVES: dict[tuple[str, str | None], _Write] = {
    ("string", None): _write_string,
    ("string", "uuid"): _write_uuid,
    ("long", None): _write_long,
    ("int", None): _write_int,
    ("boolean", None): _write_boolean,
}


class _Compiler:
    def __init__(self, schema: Any) -> None:
        self._named = named_types(schema)

    def value(self, node: Any) -> _Write | None:
        node = resolve(node, self._named)
        kind, logical = kind_of(node)
        if kind == "union":
            if len(node) != 2 or "null" not in node:
                return None
            null_index = node.index("null")
            inner = self.value(node[1 - null_index])
            return None if inner is None else _optional(inner, null_index)
        if kind == "enum":
            return _enum(list(node["symbols"]))
        if (kind, logical) == ("long", "timestamp-millis"):
            return _timestamp_millis()
        if kind == "array":
            items = self.value(node["items"])
            return None if items is None else _array(items)
        return _LEAVES.get((kind, logical))


def compile_writer(schema: Any, header: bytes) -> Callable[[Mapping[str, Any]], bytes] | None:
    """A writer of ``header`` + the Avro body of a record of the parsed record ``schema``
    (raises ``_Aside`` for a record it leaves to the codec); None when the schema has a
    type it does not write."""
    compiler = _Compiler(schema)
    fields: list[tuple[str, _Write]] = []
    for field in schema["fields"]:
        write = compiler.value(field["type"])
        if write is None:
            return None
        fields.append((field["name"], write))
    count = len(fields)

    def write_record(record: Mapping[str, Any]) -> bytes:
        if type(record) is not dict or len(record) != count:
            raise _Aside  # a field missing (the codec fills defaults) or one too many
        out = [header]
        try:
            for name, write in fields:
                write(record[name], out)
        except (KeyError, TypeError, UnicodeEncodeError):
            # A missing field, a datetime without an offset, a string no UTF-8 holds.
            raise _Aside from None
        return b"".join(out)

    return write_record


class RecordEncoder:
    """``AuditEncoder`` (``encode(event_type, record)``) for one record type of ``codec``:
    that type by the compiled writer, with the codec for what the writer leaves aside and
    for every other type."""

    def __init__(self, codec: Codec, event_type: str, schema: Mapping[str, Any]) -> None:
        self._codec = codec
        self.event_type = event_type
        self._write = compile_writer(schema, MAGIC + codec.fingerprint(event_type))

    @property
    def compiled(self) -> bool:
        """Whether the type has a compiled writer (else the codec writes every record)."""
        return self._write is not None

    def encode(self, event_type: str, record: dict[str, Any]) -> bytes:
        """The single-object encoding of ``record``, as ``Codec.encode`` writes it."""
        write = self._write
        if write is not None and event_type == self.event_type:
            try:
                return write(record)
            except _Aside:
                pass
        return self._codec.encode(event_type, record)
