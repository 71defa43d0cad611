"""One JSON object per message, UTF-8 (the Jiangsu and Anhui containers).

Writing is byte-exact and stable, so that a golden file can be compared byte for byte
and the same event always yields the same bytes (a sink's idempotency check compares
them):

- keys in the order the structure holds them: the profile builds objects in the ICD
  table's order, and nothing is sorted;
- compact separators ``,`` and ``:`` with no whitespace and no trailing newline: one
  message is one line, as the ICD samples are (their line breaks are only for print);
- non-ASCII text as itself (``ensure_ascii=False``), UTF-8, no byte order mark; control
  characters, ``"`` and ``\\`` escaped as JSON requires;
- a ``Decimal`` written exactly as its digits read (``Decimal("117.290000")`` →
  ``117.290000``): that is how a profile fixes a number of decimals, which a float
  cannot; ``NaN`` and infinities are refused (JSON has none).

Writing goes through the C encoder of ``json`` (``json.dumps`` with the same rules, a
``Decimal`` put in through a marker that is then replaced by its digits): the careful
encoder ``_encode`` below, which walks the structure in Python, took ~130 µs of a Jiangsu
message's ~360 µs translation. Whatever the fast path cannot write exactly (a lone
surrogate, NaN, a type JSON has none of, a text that holds the marker itself) goes to the
careful encoder, which writes it or names the place and the rule; both give the same
bytes for everything the profiles build (tests/unit/test_json_document_format.py).

Reading refuses, with a message naming the place and the rule: bytes that are not UTF-8,
text that is not JSON, a top-level value that is not an object, a key repeated within an
object (which parsers resolve differently: the first wins in one, the last in another),
and ``NaN``/``Infinity``. A leading UTF-8 byte order mark is ignored: some Windows tools
write one, and it carries nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from bridge.formats.base import LocalFormat
from schemas.edge import json_int
from schemas.errors import LocalFormatError, TranslationError

JSON_MEDIA_TYPE = "application/json; charset=utf-8"
_BOM = b"\xef\xbb\xbf"


class JsonDocumentFormat(LocalFormat[dict[str, Any]]):
    """One JSON object per message; see the module docstring for the exact bytes."""

    def __init__(self, media_type: str = JSON_MEDIA_TYPE) -> None:
        self.media_type = media_type

    def encode(self, structure: Mapping[str, Any]) -> bytes:
        """The message's bytes; TranslationError naming a value UTF-8 or JSON cannot hold."""
        fast = _encode_fast(structure)
        if fast is not None:
            return fast
        return _encode(structure, "").encode("utf-8")

    def decode(self, content: bytes) -> dict[str, Any]:
        """The message's object; LocalFormatError naming line and column, or the key."""
        text = _text(content.removeprefix(_BOM))
        if not text.strip():
            raise LocalFormatError("the message is empty: one JSON object was expected")
        try:
            value = json.loads(
                text,
                object_pairs_hook=_unique_keys,
                parse_constant=_refuse_constant,
                parse_int=json_int,  # a 4,301-digit number: a marker the edge refuses
            )
        except json.JSONDecodeError as exc:
            raise LocalFormatError(
                f"line {exc.lineno} column {exc.colno}: not JSON: {exc.msg}"
            ) from None
        except RecursionError:
            raise LocalFormatError("the message is nested too deeply to be read") from None
        if not isinstance(value, dict):
            raise LocalFormatError(f"the message must be one JSON object, not {_json_kind(value)}")
        return value


#: Stands for a Decimal in the C encoder's output (NUL is escaped, so no text collides
#: with it unless it holds this very marker, which the count check below catches).
_DECIMAL_MARK = "\x00hx-decimal\x00"
_DECIMAL_MARK_JSON = json.dumps(_DECIMAL_MARK)


class _NotFast(Exception):
    """A value the C encoder cannot write exactly: the careful encoder takes over."""


def _encode_fast(structure: Mapping[str, Any]) -> bytes | None:
    """The bytes ``_encode`` gives, written by ``json.dumps``; None when only the careful
    encoder can write (or refuse) the structure."""
    decimals: list[str] = []

    def decimal_marker(value: Any) -> str:
        if isinstance(value, Decimal) and value.is_finite():
            decimals.append(format(value, "f"))
            return _DECIMAL_MARK
        raise _NotFast

    try:
        text = json.dumps(
            structure,
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,
            default=decimal_marker,
        )
    except (_NotFast, ValueError, TypeError):
        return None
    if decimals:
        pieces = text.split(_DECIMAL_MARK_JSON)
        if len(pieces) != len(decimals) + 1:
            return None
        text = "".join(
            piece + digits for piece, digits in zip(pieces, [*decimals, ""], strict=True)
        )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the careful encoder names where
        return None


def _encode(value: Any, path: str) -> str:
    """JSON text of one value; ``path`` names it in errors (``SJ.ZHWZ.JD``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise TranslationError(
                f"{path or 'message'}: holds a lone surrogate, which UTF-8 cannot carry"
            ) from None
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        _require_finite(value.is_finite(), value, path)
        return format(value, "f")
    if isinstance(value, float):
        _require_finite(math.isfinite(value), value, path)
        return float.__repr__(value)
    if isinstance(value, Mapping):
        members = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path or 'message'}: JSON keys are text, not {key!r}")
            members.append(f"{json.dumps(key, ensure_ascii=False)}:{_encode(item, _at(path, key))}")
        return "{" + ",".join(members) + "}"
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        items = (_encode(item, f"{path}[{i}]") for i, item in enumerate(value))
        return "[" + ",".join(items) + "]"
    raise TypeError(f"{path or 'message'}: {type(value).__name__} cannot be written as JSON")


def _require_finite(finite: bool, value: Decimal | float, path: str) -> None:
    if not finite:
        raise TranslationError(f"{path or 'message'}: is not a number JSON can hold")


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _text(content: bytes) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        column = exc.start - (content.rfind(b"\n", 0, exc.start) + 1) + 1
        raise LocalFormatError(
            f"line {line} column {column}: not UTF-8 (byte 0x{content[exc.start]:02x})"
        ) from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise LocalFormatError(f"key {key!r} appears twice in one object")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise LocalFormatError(f"{name} is not a JSON number")


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
