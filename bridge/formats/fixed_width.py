"""Fixed-width text records in GB18030, one per CRLF line (the Henan container).

A record is a sequence of fields, each a number of BYTES of the GB18030 encoding wide.
Text is left-aligned and padded with ASCII spaces; numbers are zero-padded on the left; an
absent value is all spaces. A text value too long for its field is cut at a character
boundary (never inside a multi-byte sequence) and reported as truncated; ids, codes,
dates and numbers are never cut: a value that does not fit is a ``TranslationError``
naming the field. Line breaks and other control characters cannot live inside a line, so
text carrying them has each replaced by a space and is reported as truncated too.

Field names are the exchange paths they carry (``subject.name``), so that errors and the
truncation list speak the contract's language. Reading names the line and the field.
Legacy files are accepted as the ICD allows: a last line without CRLF, a trailing 0x1A.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum
from typing import TypeVar

from bridge.formats.base import LocalFormat
from schemas.errors import LocalFormatError, TranslationError

ENCODING = "gb18030"
CRLF = b"\r\n"
EOF_MARK = b"\x1a"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LON = re.compile(rb"[+-]\d{3}\.\d{6}")
_LAT = re.compile(rb"[+-]\d{2}\.\d{6}")
_T = TypeVar("_T")


class FieldKind(StrEnum):
    """How a field's value is written in its bytes."""

    TEXT = "text"  # free text: cut at a character boundary when too long
    CODE = "code"  # ASCII code(s), left-aligned, never cut
    ID = "id"  # identifier (uuid, agency, VIN, plate), left-aligned, never cut
    NUMBER = "number"  # non-negative integer, zero-padded on the left
    DATETIME = "datetime"  # yyyyMMddHHmmss in the layout's zone
    DATE = "date"  # yyyyMMdd
    LON = "coordinate-lon"  # +DDD.DDDDDD
    LAT = "coordinate-lat"  # +DD.DDDDDD


#: Python type each kind takes and gives.
FieldValue = str | int | float | datetime | date | None


@dataclass(frozen=True, slots=True)
class FixedField:
    """One field: the exchange path it carries, its width in bytes, and its kind."""

    name: str
    width: int
    kind: FieldKind
    #: Text that must be ASCII (e.g. a name's pinyin); anything else cannot be expressed.
    ascii_only: bool = False


@dataclass(frozen=True, slots=True)
class Layout:
    """The fields of one record type, in order."""

    name: str
    fields: tuple[FixedField, ...]

    @property
    def width(self) -> int:
        return sum(f.width for f in self.fields)


@dataclass(frozen=True, slots=True)
class Encoded:
    """The bytes of some fields, and the names of the fields whose text was cut."""

    data: bytes
    truncated: tuple[str, ...] = ()


def cut_to_width(text: str, width: int) -> tuple[bytes, bool]:
    """The longest prefix of ``text`` whose GB18030 bytes fit ``width``, and whether it was cut.

    The cut falls between characters, so a two- or four-byte sequence is never split.
    GB18030 is stateless, so the bytes of a prefix are the first bytes of the whole and
    grow with it: a binary search over the number of characters kept (at most ``width``,
    each character taking a byte or more) finds the longest prefix that fits.
    """
    data = text.encode(ENCODING)
    if len(data) <= width:
        return data, False
    fits, too_long = 0, min(len(text), width + 1)  # text[:fits] fits, text[:too_long] not
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if len(text[:middle].encode(ENCODING)) <= width:
            fits = middle
        else:
            too_long = middle
    return text[:fits].encode(ENCODING), True


def encode_fields(layout: Layout, values: Mapping[str, FieldValue], zone: tzinfo) -> Encoded:
    """Write ``values`` (by field name; missing means absent) in the layout's order."""
    out = bytearray()
    truncated: list[str] = []
    for field in layout.fields:
        data, cut = _encode_field(field, values.get(field.name), zone)
        out += data
        if cut:
            truncated.append(field.name)
    return Encoded(bytes(out), tuple(truncated))


def decode_fields(layout: Layout, data: bytes, zone: tzinfo) -> dict[str, FieldValue]:
    """Read the layout's fields from ``data`` (``layout.width`` bytes); errors name the field."""
    values: dict[str, FieldValue] = {}
    offset = 0
    for field in layout.fields:
        raw = data[offset : offset + field.width]
        offset += field.width
        try:
            values[field.name] = _decode_field(field, raw, zone)
        except ValueError as exc:
            raise LocalFormatError(f"{field.name}: {exc}") from None
    return values


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a file: its 1-based number, its bytes without the line end, and whether
    it ended in a bare LF (a file converted to Unix line ends)."""

    number: int
    data: bytes
    bare_lf: bool = False


def split_lines(content: bytes) -> Iterator[Line]:
    """The lines of a file, numbered as a text editor numbers them (at each LF).

    A trailing EOF byte (0x1A) and a last line without CRLF are accepted (legacy files);
    a line ending in LF without CR is yielded marked, for ``check_line`` to refuse.
    """
    body = content.rstrip(EOF_MARK)
    if not body:
        return
    pieces = body.split(b"\n")
    if not pieces[-1]:
        pieces.pop()  # the file ends with a line end: no line after it
    for number, piece in enumerate(pieces, start=1):
        if piece.endswith(b"\r"):
            yield Line(number, piece[:-1])
        else:
            yield Line(number, piece, bare_lf=number < len(pieces) or body.endswith(b"\n"))


def check_line(line: Line) -> None:
    """Records end in CRLF only: a bare LF or CR is an error naming the line."""
    if line.bare_lf:
        raise LocalFormatError(f"line {line.number}: ends in LF without CR; lines end in CRLF")
    if b"\r" in line.data:
        raise LocalFormatError(f"line {line.number}: holds a bare CR; lines end in CRLF")


@dataclass(frozen=True, slots=True)
class FixedRecord:
    """One record: its type (the layout's name) and its values by field name."""

    record_type: str
    values: Mapping[str, FieldValue]


class FixedWidthFormat(LocalFormat[FixedRecord]):
    """Records of several types, told apart by a type code in the first field of each line.

    Every layout starts with the same type field; ``flag_field``, when given, is set to
    ``flag`` in a record whose text was cut (the caller may set it for its own cuts too).
    One message is one record, one CRLF line; a batch file is read line by line.
    """

    media_type = "text/plain; charset=gb18030"

    def __init__(
        self,
        layouts: Iterable[Layout],
        zone: tzinfo,
        *,
        flag_field: str | None = None,
        flag: str = "T",
    ) -> None:
        self.layouts = {layout.name: layout for layout in layouts}
        self.zone = zone
        for layout in self.layouts.values():
            names = [f.name for f in layout.fields]
            if len(set(names)) != len(names):
                raise ValueError(f"layout {layout.name} names a field twice")
        first = {layout.fields[0] for layout in self.layouts.values()}
        if len(first) != 1:
            raise ValueError("every layout must start with the same record type field")
        self.type_field = first.pop()
        self._flag_field = flag_field
        self._flag = flag
        #: Per layout with the flag field: its byte offset and the field (a record whose
        #: text was cut gets the flag written over its blank bytes, not encoded again).
        self._flag_at: dict[str, tuple[int, FixedField]] = {}
        for layout in self.layouts.values():
            offset = 0
            for field in layout.fields:
                if field.name == flag_field:
                    self._flag_at[layout.name] = (offset, field)
                offset += field.width

    def encode(self, structure: FixedRecord) -> bytes:
        """One line, CRLF included; TranslationError naming a value that cannot be written."""
        return self.encode_reporting(structure).data

    def encode_reporting(self, record: FixedRecord) -> Encoded:
        """``encode``, and the fields whose text was cut."""
        layout = self.layouts.get(record.record_type)
        if layout is None:
            raise TranslationError(f"{record.record_type}: no layout for this record type")
        values = {**record.values, self.type_field.name: record.record_type}
        encoded = encode_fields(layout, values, self.zone)
        if encoded.truncated and self._flag_field is not None:
            flag_at = self._flag_at.get(layout.name)
            if flag_at is not None:  # the fields are independent: only the flag's bytes change
                offset, field = flag_at
                flag, _ = _encode_field(field, self._flag, self.zone)
                data = encoded.data[:offset] + flag + encoded.data[offset + field.width :]
                encoded = Encoded(data, encoded.truncated)
        return Encoded(encoded.data + CRLF, encoded.truncated)

    def decode(self, content: bytes) -> FixedRecord:
        """The one record of a single-record message (legacy line ends accepted)."""
        lines = list(split_lines(content))
        if len(lines) != 1:
            raise LocalFormatError(f"line 1: the message holds {len(lines)} records, expected 1")
        return self.decode_line(lines[0])

    def decode_line(self, line: Line) -> FixedRecord:
        """One line of a batch; LocalFormatError naming the line, the field and the rule."""
        check_line(line)
        data = line.data
        if not data:
            raise LocalFormatError(f"line {line.number}: is empty")
        type_width = self.type_field.width
        record_type = data[:type_width].decode(ENCODING, "replace")
        layout = self.layouts.get(record_type)
        if layout is None:
            known = ", ".join(self.layouts)
            raise LocalFormatError(
                f"line {line.number}: {self.type_field.name}: must be one of {known}"
            )
        if len(data) != layout.width:
            raise LocalFormatError(
                f"line {line.number}: {record_type} record is {len(data)} bytes, "
                f"expected {layout.width}"
            )
        try:
            values = decode_fields(layout, data, self.zone)
        except LocalFormatError as exc:
            raise LocalFormatError(f"line {line.number}: {exc}") from None
        return FixedRecord(record_type, values)


def _encode_field(field: FixedField, value: FieldValue, zone: tzinfo) -> tuple[bytes, bool]:
    if value is None:
        return b" " * field.width, False
    if field.kind is FieldKind.TEXT:
        return _encode_text(field, _expect(field, value, str))
    text = _encode_exact(field, value, zone)
    # GB18030 is ASCII in its one-byte range; the ASCII codec is four times faster on the
    # ids, codes, numbers and times that make most of a record.
    data = text.encode("ascii") if text.isascii() else text.encode(ENCODING)
    if len(data) > field.width:
        raise TranslationError(
            f"{field.name}: is {len(data)} bytes, the field holds {field.width}; "
            f"{field.kind.value}s are never cut"
        )
    return data.ljust(field.width, b" "), False


def _encode_text(field: FixedField, text: str) -> tuple[bytes, bool]:
    if field.ascii_only and not text.isascii():
        raise TranslationError(f"{field.name}: is not ASCII, the field holds ASCII only")
    cleaned = _CONTROL.sub(" ", text)
    data, cut = cut_to_width(cleaned, field.width)
    return data.ljust(field.width, b" "), cut or cleaned != text


def _encode_exact(field: FixedField, value: FieldValue, zone: tzinfo) -> str:
    """The characters of a value that is written whole or not at all."""
    kind = field.kind
    if kind in (FieldKind.CODE, FieldKind.ID):
        text = _expect(field, value, str)
        if _CONTROL.search(text) or " " in text or not text:
            raise TranslationError(f"{field.name}: is not a {kind.value} (empty, or holds spaces)")
        if kind is FieldKind.CODE and not text.isascii():
            raise TranslationError(f"{field.name}: is not an ASCII code")
        return text
    if kind is FieldKind.NUMBER:
        number = _expect(field, value, int)
        if number < 0:
            raise TranslationError(f"{field.name}: is negative, the field holds 0 or more")
        return str(number).zfill(field.width)
    if kind is FieldKind.DATETIME:
        moment = _expect(field, value, datetime)
        if moment.tzinfo is None:
            raise TranslationError(f"{field.name}: time without a zone")
        local = moment.astimezone(zone)
        # Field by field: ``strftime`` through ``format`` costs more than the conversion.
        return (
            f"{local.year:04d}{local.month:02d}{local.day:02d}"
            f"{local.hour:02d}{local.minute:02d}{local.second:02d}"
        )
    if kind is FieldKind.DATE:
        day = _expect(field, value, date)
        return f"{day.year:04d}{day:%m%d}"
    return _encode_coordinate(field, value)


def _encode_coordinate(field: FixedField, value: FieldValue) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TranslationError(f"{field.name}: a {type(value).__name__} is not a number")
    limit = 180.0 if field.kind is FieldKind.LON else 90.0
    if not -limit <= value <= limit:
        raise TranslationError(f"{field.name}: is outside -{limit:g}..{limit:g}")
    return f"{value:+0{field.width}.6f}"


def _expect(field: FixedField, value: FieldValue, kind: type[_T]) -> _T:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TranslationError(f"{field.name}: a {type(value).__name__} is not a {kind.__name__}")
    return value


def _decode_field(field: FixedField, raw: bytes, zone: tzinfo) -> FieldValue:
    """The value of one field's bytes; ValueError says which rule the bytes break."""
    if not raw.strip(b" "):
        return None
    kind = field.kind
    if kind in (FieldKind.LON, FieldKind.LAT):
        return _decode_coordinate(kind, raw)
    try:
        text = raw.decode(ENCODING)
    except UnicodeDecodeError:
        raise ValueError("is not valid GB18030 (a character is cut at the field edge)") from None
    if _CONTROL.search(text):
        raise ValueError("holds a control character")
    if kind is FieldKind.TEXT:
        if field.ascii_only and not text.isascii():
            raise ValueError("is not ASCII")
        return text.rstrip(" ")
    if kind in (FieldKind.CODE, FieldKind.ID):
        return _decode_exact(text)
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"is not {_DIGIT_RULES[kind]}")
    if kind is FieldKind.NUMBER:
        return int(text)
    year, month, day = int(text[:4]), int(text[4:6]), int(text[6:8])
    try:
        if kind is FieldKind.DATE:
            return date(year, month, day)
        hour, minute, second = int(text[8:10]), int(text[10:12]), int(text[12:14])
        return datetime(year, month, day, hour, minute, second, tzinfo=zone).astimezone(UTC)
    except ValueError:
        raise ValueError(f"is not {_DIGIT_RULES[kind]} (no such day or time)") from None
    except OverflowError:  # year 0001 shifted from Asia/Shanghai to UTC
        raise ValueError("must lie between the years 1900 and 2100") from None


_DIGIT_RULES = {
    FieldKind.NUMBER: "a zero-padded number",
    FieldKind.DATE: "a date yyyyMMdd",
    FieldKind.DATETIME: "a time yyyyMMddHHmmss",
}


def _decode_exact(text: str) -> str:
    """A code or id: left-aligned, no spaces inside, trailing padding removed."""
    value = text.rstrip(" ")
    if value != value.strip() or " " in value:
        raise ValueError("is not left-aligned without spaces")
    return value


def _decode_coordinate(kind: FieldKind, raw: bytes) -> float:
    pattern, shape, limit = (
        (_LON, "+DDD.DDDDDD", 180.0) if kind is FieldKind.LON else (_LAT, "+DD.DDDDDD", 90.0)
    )
    if not pattern.fullmatch(raw):
        raise ValueError(f"is not a coordinate {shape}")
    value = float(raw)
    if not -limit <= value <= limit:
        raise ValueError(f"is outside -{limit:g}..{limit:g}")
    return value
