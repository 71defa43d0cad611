"""The JSON container (bridge.formats.json_document): exact bytes out, strict parsing in."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.formats import JsonDocumentFormat, LocalFormat, json_document
from schemas.errors import LocalFormatError, TranslationError

FORMAT = JsonDocumentFormat()


def test_bytes_keep_key_order_and_are_compact_utf8() -> None:
    """Keys stay in the given order, no whitespace, non-ASCII as itself, no BOM, no newline."""
    document = {"Z": "张伟", "A": [1, True, None], "M": {"q": '"\\\n'}}
    expected = '{"Z":"张伟","A":[1,true,null],"M":{"q":"\\"\\\\\\n"}}'.encode()
    assert expected == FORMAT.encode(document)


def test_decimals_are_written_as_their_digits() -> None:
    """A Decimal keeps its trailing zeros (six decimals stay six); a float is its repr."""
    document = {"JD": Decimal("117.290000"), "WD": Decimal("-0.000001"), "f": 0.5}
    assert b'{"JD":117.290000,"WD":-0.000001,"f":0.5}' == FORMAT.encode(document)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"SJ": {"JD": float("nan")}}, "SJ.JD: is not a number JSON can hold"),
        ({"SJ": {"JD": Decimal("Infinity")}}, "SJ.JD: is not a number JSON can hold"),
        (
            {"SJ": {"BM": ["a", "\ud800"]}},
            "SJ.BM[1]: holds a lone surrogate, which UTF-8 cannot carry",
        ),
    ],
)
def test_values_json_cannot_hold_are_translation_errors(
    document: dict[str, Any], expected: str
) -> None:
    """NaN, infinities and lone surrogates are refused, naming the key path."""
    with pytest.raises(TranslationError) as raised:
        FORMAT.encode(document)
    assert expected == str(raised.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the message is empty: one JSON object was expected"),
        (b'{"a":1,\n"b":}', "line 2 column 5: not JSON: Expecting value"),
        (b'{"a":{"b":1,"b":2}}', "key 'b' appears twice in one object"),
        (b'["a"]', "the message must be one JSON object, not an array"),
        (b'"a"', "the message must be one JSON object, not a string"),
        (b"null", "the message must be one JSON object, not null"),
        (b'{"a":NaN}', "NaN is not a JSON number"),
        (b'{"a":\n"\xff"}', "line 2 column 2: not UTF-8 (byte 0xff)"),
        (b"[" * 100000 + b"]" * 100000, "the message is nested too deeply to be read"),
    ],
)
def test_bad_bytes_are_local_format_errors(content: bytes, expected: str) -> None:
    """Each malformed input is refused with its place and rule."""
    with pytest.raises(LocalFormatError) as raised:
        FORMAT.decode(content)
    assert expected == str(raised.value)


def test_a_utf8_byte_order_mark_is_ignored() -> None:
    """Some Windows tools write a BOM; it carries nothing and is skipped."""
    assert {"a": "张"} == FORMAT.decode('\ufeff{"a": "张"}'.encode())


def test_it_is_a_local_format_with_its_media_type() -> None:
    """The JSON container implements LocalFormat; its media type is the ICD's."""
    expected = (True, "application/json")
    actual = (isinstance(FORMAT, LocalFormat), JsonDocumentFormat("application/json").media_type)
    assert expected == actual


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(st.characters(blacklist_categories=("Cs",))),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=12,
)


@given(document=st.dictionaries(st.text(max_size=5), json_values, max_size=5))
def test_decode_reverses_encode(document: dict[str, Any]) -> None:
    """Any object of text, integers, booleans, nulls, lists and objects comes back equal."""
    assert document == FORMAT.decode(FORMAT.encode(document))


exact_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=False, allow_infinity=False, places=6)
    | st.text(st.characters(blacklist_categories=("Cs",)))
    | st.just("\x00hx-decimal\x00"),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=12,
)


@given(document=st.dictionaries(st.text(max_size=5), exact_values, max_size=5))
def test_the_fast_writer_gives_the_careful_writers_bytes(document: dict[str, Any]) -> None:
    """The C-encoder path and the careful Python encoder write the same bytes, Decimals,
    floats, control characters and the fast path's own marker text included."""
    careful = json_document._encode(document, "").encode("utf-8")
    assert careful == FORMAT.encode(document)


def test_a_text_holding_the_decimal_marker_is_written_as_text() -> None:
    """A record text that happens to be the fast path's marker stays that text."""
    document = {"a": "\x00hx-decimal\x00", "b": Decimal("1.50")}
    assert b'{"a":"\\u0000hx-decimal\\u0000","b":1.50}' == FORMAT.encode(document)
