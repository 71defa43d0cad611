"""GB18030 fixed-width records (bridge.formats.fixed_width): widths in bytes, cuts, kinds."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.formats.fixed_width import (
    FieldKind,
    FieldValue,
    FixedField,
    FixedRecord,
    FixedWidthFormat,
    Layout,
    Line,
    check_line,
    cut_to_width,
    decode_fields,
    encode_fields,
    split_lines,
)
from schemas.errors import LocalFormatError, TranslationError

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: ASCII, common CJK, CJK extension A (䶮 has no GBK code) and four-byte supplementary ideographs.
MIXED = st.text(
    st.sampled_from("abcXYZ 019")
    | st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
    | st.characters(min_codepoint=0x3400, max_codepoint=0x4DB5)
    | st.characters(min_codepoint=0x20000, max_codepoint=0x2A6D6),
    max_size=40,
)


def gb(text: str) -> bytes:
    return text.encode("gb18030")


def one(kind: FieldKind, width: int, *, ascii_only: bool = False) -> Layout:
    return Layout("T", (FixedField("f", width, kind, ascii_only=ascii_only),))


def encode_one(kind: FieldKind, width: int, value: FieldValue) -> bytes:
    return encode_fields(one(kind, width), {"f": value}, SHANGHAI).data


def decode_one(kind: FieldKind, width: int, data: bytes) -> FieldValue:
    return decode_fields(one(kind, width), data, SHANGHAI)["f"]


def test_cut_keeps_whole_characters() -> None:
    """王小明 cut to 5 bytes is 王小 and one space of padding, reported as truncated."""
    encoded = encode_fields(one(FieldKind.TEXT, 5), {"f": "王小明"}, SHANGHAI)
    assert ("王小".encode("gb18030") + b" ", ("f",)) == (encoded.data, encoded.truncated)


@pytest.mark.parametrize("name", ["𠮷", "䶮", "张𠮷明", "䶮𠮷"])
def test_characters_outside_gbk_survive(name: str) -> None:
    """Names with characters GBK lacks (four-byte 𠮷, 䶮) round-trip through a text field."""
    data = encode_one(FieldKind.TEXT, 30, name)
    assert (30, name) == (len(data), decode_one(FieldKind.TEXT, 30, data))


def test_four_byte_character_is_never_split() -> None:
    """A four-byte character that does not fit whole is left out, not cut in half."""
    assert (b"a", True) == cut_to_width("a𠮷", 3)


@given(text=MIXED, width=st.integers(0, 60))
def test_cut_is_the_longest_whole_character_prefix(text: str, width: int) -> None:
    """Cutting gives the longest character prefix that fits; its bytes decode cleanly."""
    data, cut = cut_to_width(text, width)
    kept = data.decode("gb18030")
    fits = len(text.encode("gb18030")) <= width
    next_char = text[len(kept) : len(kept) + 1]
    assert (True, True, not fits) == (
        text.startswith(kept),
        len(data) <= width,
        cut,
    )
    assert fits or len((kept + next_char).encode("gb18030")) > width


@given(text=MIXED.filter(lambda t: t == t.rstrip(" ")), width=st.integers(1, 60))
def test_text_field_round_trips_what_was_kept(text: str, width: int) -> None:
    """A text field reads back as the kept prefix (padding removed); truncated says if cut."""
    encoded = encode_fields(one(FieldKind.TEXT, width), {"f": text}, SHANGHAI)
    kept = cut_to_width(text, width)[0].decode("gb18030").rstrip(" ")
    expected = (width, kept or None, ("f",) if kept != text else ())
    actual = (
        len(encoded.data),
        decode_fields(one(FieldKind.TEXT, width), encoded.data, SHANGHAI)["f"],
        encoded.truncated,
    )
    assert expected == actual


def test_absent_value_is_all_spaces_and_reads_as_none() -> None:
    """An absent value is written as spaces, whatever its kind, and reads back as None."""
    kinds = [
        FieldKind.TEXT,
        FieldKind.CODE,
        FieldKind.ID,
        FieldKind.NUMBER,
        FieldKind.DATETIME,
        FieldKind.DATE,
    ]
    written = [encode_one(kind, 14, None) for kind in kinds]
    assert ([b" " * 14] * 6, [None] * 6) == (
        written,
        [decode_one(kind, 14, data) for kind, data in zip(kinds, written, strict=True)],
    )


def test_number_is_zero_padded() -> None:
    """A number is zero-padded on the left and reads back as an int."""
    assert (b"0007", 7) == (
        encode_one(FieldKind.NUMBER, 4, 7),
        decode_one(FieldKind.NUMBER, 4, b"0007"),
    )


@pytest.mark.parametrize(
    ("kind", "width", "value", "rule"),
    [
        (FieldKind.NUMBER, 4, 10000, "is 5 bytes, the field holds 4; numbers are never cut"),
        (FieldKind.NUMBER, 3, -1, "is negative"),
        (FieldKind.ID, 12, "3203000000001", "the field holds 12; ids are never cut"),
        (FieldKind.CODE, 2, "011", "the field holds 2; codes are never cut"),
        (FieldKind.CODE, 2, "é", "is not an ASCII code"),
        (FieldKind.ID, 12, "32 300", "holds spaces"),
        (FieldKind.DATE, 8, "2026-01-01", "a str is not a date"),
    ],
)
def test_values_that_must_not_be_cut_are_errors(
    kind: FieldKind, width: int, value: FieldValue, rule: str
) -> None:
    """Ids, codes, dates and numbers that do not fit are a TranslationError naming the field."""
    with pytest.raises(TranslationError) as raised:
        encode_one(kind, width, value)
    assert (True, True) == (str(raised.value).startswith("f: "), rule in str(raised.value))


def test_ascii_only_text_refuses_other_characters() -> None:
    """A text field for ASCII only (pinyin) refuses Chinese characters, naming the field."""
    with pytest.raises(TranslationError) as raised:
        encode_fields(one(FieldKind.TEXT, 10, ascii_only=True), {"f": "LÜ"}, SHANGHAI)
    assert "f: is not ASCII, the field holds ASCII only" == str(raised.value)


def test_control_characters_become_spaces_and_count_as_truncated() -> None:
    """A line break inside text cannot live in a CRLF line: it becomes a space, flagged."""
    encoded = encode_fields(one(FieldKind.TEXT, 8), {"f": "ab\r\ncd"}, SHANGHAI)
    assert (b"ab  cd  ", ("f",)) == (encoded.data, encoded.truncated)


def test_times_are_written_in_shanghai_time() -> None:
    """A UTC time is written as yyyyMMddHHmmss in Asia/Shanghai and read back in UTC."""
    moment = datetime(2026, 11, 20, 16, 30, 5, tzinfo=UTC)
    data = encode_one(FieldKind.DATETIME, 14, moment)
    assert (b"20261121003005", moment) == (data, decode_one(FieldKind.DATETIME, 14, data))


def test_dates_round_trip() -> None:
    """A date is written yyyyMMdd."""
    data = encode_one(FieldKind.DATE, 8, date(1988, 4, 12))
    assert (b"19880412", date(1988, 4, 12)) == (data, decode_one(FieldKind.DATE, 8, data))


@pytest.mark.parametrize(
    ("kind", "width", "value", "expected"),
    [
        (FieldKind.LON, 11, 116.587245, b"+116.587245"),
        (FieldKind.LON, 11, -5.25, b"-005.250000"),
        (FieldKind.LAT, 10, 35.414921, b"+35.414921"),
        (FieldKind.LAT, 10, -0.5, b"-00.500000"),
    ],
)
def test_coordinates_have_sign_and_six_decimals(
    kind: FieldKind, width: int, value: float, expected: bytes
) -> None:
    """Longitude is +DDD.DDDDDD (11 bytes), latitude +DD.DDDDDD (10 bytes)."""
    data = encode_one(kind, width, value)
    assert (expected, value) == (data, decode_one(kind, width, data))


@pytest.mark.parametrize(
    ("kind", "width", "value"),
    [(FieldKind.LAT, 10, 90.5), (FieldKind.LON, 11, -181.0), (FieldKind.LAT, 10, "1")],
)
def test_coordinates_out_of_range_are_errors(
    kind: FieldKind, width: int, value: FieldValue
) -> None:
    """A coordinate outside its range, or not a number, cannot be written."""
    with pytest.raises(TranslationError, match=r"^f: "):
        encode_one(kind, width, value)


@pytest.mark.parametrize(
    ("kind", "width", "data", "rule"),
    [
        (FieldKind.NUMBER, 4, b"12a4", "is not a zero-padded number"),
        (FieldKind.DATE, 8, b"20260230", "is not a date yyyyMMdd (no such day or time)"),
        (FieldKind.DATETIME, 14, b"20261120246000", "is not a time yyyyMMddHHmmss (no such"),
        (FieldKind.LON, 11, b"116.5872450", "is not a coordinate +DDD.DDDDDD"),
        (FieldKind.LAT, 10, b"+95.000000", "is outside -90..90"),
        (FieldKind.ID, 12, b" 32030000000", "is not left-aligned without spaces"),
        (FieldKind.TEXT, 3, "王".encode("gb18030") + b"\xd0", "is not valid GB18030"),
    ],
)
def test_bad_bytes_are_errors_naming_the_field(
    kind: FieldKind, width: int, data: bytes, rule: str
) -> None:
    """Reading bytes that break a field's kind names the field and the rule."""
    with pytest.raises(LocalFormatError) as raised:
        decode_one(kind, width, data)
    assert (True, True) == (str(raised.value).startswith("f: "), rule in str(raised.value))


FORMAT = FixedWidthFormat(
    [
        Layout(
            "AA",
            (
                FixedField("type", 2, FieldKind.CODE),
                FixedField("flag", 1, FieldKind.CODE),
                FixedField("name", 5, FieldKind.TEXT),
            ),
        ),
        Layout("BB", (FixedField("type", 2, FieldKind.CODE), FixedField("n", 3, FieldKind.NUMBER))),
    ],
    SHANGHAI,
    flag_field="flag",
)


def test_format_sets_the_flag_when_text_is_cut() -> None:
    """A record whose text is cut gets its flag byte set, and the cut field is reported."""
    encoded = FORMAT.encode_reporting(FixedRecord("AA", {"name": "王小明"}))
    assert (b"AAT" + gb("王小") + b" \r\n", ("name",)) == (encoded.data, encoded.truncated)


def test_format_leaves_the_flag_blank_when_nothing_is_cut() -> None:
    """Nothing cut: flag blank; the record type is written from the record."""
    assert b"AA abc  \r\n" == FORMAT.encode(FixedRecord("AA", {"name": "abc"}))


def test_format_decodes_one_message() -> None:
    """A single-record message reads back as its record type and values."""
    expected = FixedRecord("BB", {"type": "BB", "n": 42})
    assert expected == FORMAT.decode(b"BB042\r\n")


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (b"BB04\r\n", "line 1: BB record is 4 bytes, expected 5"),
        (b"CC042\r\n", "line 1: type: must be one of AA, BB"),
        (b"BB0x2\r\n", "line 1: n: is not a zero-padded number"),
        (b"BB042\r\nBB042\r\n", "line 1: the message holds 2 records, expected 1"),
    ],
)
def test_format_errors_name_line_field_and_rule(content: bytes, rule: str) -> None:
    """A wrong length, an unknown type or a bad field is refused with line and rule."""
    with pytest.raises(LocalFormatError) as raised:
        FORMAT.decode(content)
    assert rule == str(raised.value)


def test_format_refuses_an_unknown_record_type_on_encode() -> None:
    """Writing a record type without a layout is a TranslationError."""
    with pytest.raises(TranslationError, match=r"^CC: no layout for this record type$"):
        FORMAT.encode(FixedRecord("CC", {}))


def test_layouts_must_share_the_type_field() -> None:
    """The type code is the first field of every layout, or records cannot be told apart."""
    layouts = [one(FieldKind.CODE, 2), Layout("U", (FixedField("g", 2, FieldKind.CODE),))]
    with pytest.raises(ValueError, match="same record type field"):
        FixedWidthFormat(layouts, SHANGHAI)


@pytest.mark.parametrize(
    "content",
    [b"AA\r\nBB\r\n", b"AA\r\nBB", b"AA\r\nBB\r\n\x1a", b"AA\r\nBB\x1a"],
    ids=["crlf", "no-final-crlf", "eof-byte", "eof-byte-no-crlf"],
)
def test_legacy_line_endings_are_accepted(content: bytes) -> None:
    """A last line without CRLF and a trailing 0x1A EOF byte are both accepted."""
    lines = list(split_lines(content))
    assert [Line(1, b"AA"), Line(2, b"BB")] == lines


def test_empty_file_has_no_lines() -> None:
    """An empty file (or a lone EOF byte) holds no lines."""
    assert ([], []) == (list(split_lines(b"")), list(split_lines(b"\x1a")))


def test_lines_are_numbered_at_each_line_feed() -> None:
    """Line numbers count LFs, as an editor (and the outbox's rejected copy) counts them."""
    lines = list(split_lines(b"AA\r\nBB\nCC\r\nDD\n"))
    expected = [Line(1, b"AA"), Line(2, b"BB", True), Line(3, b"CC"), Line(4, b"DD", True)]
    assert expected == lines


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        (Line(4, b"AA", bare_lf=True), "line 4: ends in LF without CR; lines end in CRLF"),
        (Line(5, b"A\rA"), "line 5: holds a bare CR; lines end in CRLF"),
    ],
)
def test_bare_line_ends_are_errors_naming_the_line(line: Line, rule: str) -> None:
    """A bare LF or CR is refused: records end in CRLF only."""
    with pytest.raises(LocalFormatError) as raised:
        check_line(line)
    assert rule == str(raised.value)


def test_layouts_must_name_each_field_once() -> None:
    """Values are keyed by field name, so a layout may not use a name twice."""
    twice = Layout("T", (FixedField("f", 2, FieldKind.CODE), FixedField("f", 3, FieldKind.TEXT)))
    with pytest.raises(ValueError, match="layout T names a field twice"):
        FixedWidthFormat([twice], SHANGHAI)
