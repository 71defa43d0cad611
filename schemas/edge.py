"""The edge rules every value obeys before anything else looks at it.

Whatever enters the exchange — the JSON form, and every province's outbox format after its
profile read it — passes ``edge_issues`` before the models, so that what is accepted can be
encoded and delivered to every province:

- text holds no unpaired surrogate (UTF-8, GB18030 and Avro cannot carry one) and no
  control character other than tab, line feed and carriage return, nor U+FFFE / U+FFFF
  (XML 1.0, the Shandong format, cannot carry them; the Henan format would turn them into
  spaces). Control characters in free text have no use in a police record and are a
  classic way to smuggle markup or split a log line;
- numbers are finite and whole numbers fit the 64-bit Avro ``long`` (each field's model
  then narrows that to its own range: a revision fits 32 bits);
- a JSON whole number too long to read (Python refuses beyond 4,300 digits) arrives as a
  ``HugeNumber`` marker through ``json_int`` and is refused here with its field path.

Times and dates keep to ``TIME_MIN``..``TIME_MAX`` (1900–2100) in ``schemas.models.types``:
every local format writes a four-digit year in a local zone, and a year 0001 or 9999
overflows when shifted by +08:00.

Rules never quote the value: issues end up in logs, DLQ headers and error files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from schemas.errors import Issue

#: The first and last instant the exchange accepts (times, and dates as their midnight).
TIME_MIN = datetime(1900, 1, 1, tzinfo=UTC)
TIME_MAX = datetime(2100, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
TIME_RANGE_RULE = "must lie between the years 1900 and 2100"
#: The earliest creation time of a message (the envelope's ``time``): the exchange did not
#: exist before, and the Anhui ICD reads a ``sent_at_ms`` below 10^11 (before 1973) as
#: seconds, so an earlier time could not travel there and back.
CREATED_MIN = datetime(2000, 1, 1, tzinfo=UTC)
CREATED_RANGE_RULE = "a message's creation time must lie between the years 2000 and 2100"

LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
#: Digits beyond which a JSON whole number is not even converted (long has 19).
_MAX_DIGITS = 40
#: Characters that text may hold although they are controls.
_ALLOWED_CONTROLS = frozenset("\t\n\r")
_NONCHARACTERS = frozenset("\ufffe\uffff")
#: Leaves no edge rule applies to (``number_rule`` passes them), for ``_clean``.
_PLAIN_LEAVES = frozenset({type(None), bool, datetime, date})


class HugeNumber:
    """A JSON whole number too long to convert: refused by ``edge_issues`` with its path."""

    __slots__ = ("digits",)

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"HugeNumber({self.digits} digits)"


def json_int(text: str) -> int | HugeNumber:
    """``parse_int`` hook for ``json``: an int, or a marker for a number too long to read."""
    if len(text) > _MAX_DIGITS:
        return HugeNumber(len(text))
    return int(text)


def text_rule(value: str) -> str | None:
    """The rule ``value`` breaks as exchange text, or None when every province can carry it."""
    if value.isprintable():  # the fast path: no control, surrogate or nonprintable at all
        return None
    for char in value:
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            return "holds an unpaired surrogate, which UTF-8 and GB18030 cannot carry"
        if (code < 0x20 or 0x7F <= code <= 0x9F) and char not in _ALLOWED_CONTROLS:
            return (
                f"holds the control character U+{code:04X}, which the partners' formats "
                "cannot carry (only tab, line feed and carriage return are allowed)"
            )
        if char in _NONCHARACTERS:
            return f"holds U+{code:04X}, which is not a character (XML 1.0 cannot carry it)"
    return None


def number_rule(value: Any) -> str | None:
    """The rule a JSON number breaks at the edge, or None."""
    if isinstance(value, HugeNumber):
        return f"is a whole number of {value.digits} digits, beyond the 64-bit range"
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not LONG_MIN <= value <= LONG_MAX:
        return "is a whole number beyond the 64-bit range"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    return None


def edge_issues(value: Any, path: str = "") -> list[Issue]:
    """Every text and number in ``value`` (dicts, lists, leaves) that breaks an edge rule."""
    if _clean(value):
        return []
    issues: list[Issue] = []
    _walk(value, path, issues)
    return issues


def _clean(value: Any) -> bool:
    """Whether nothing in ``value`` breaks an edge rule: the same rules as ``_walk``.

    Why a second walk: every event crosses the edge on its way to the bus, and nearly all
    are clean. This one keeps no paths, calls no function per plain leaf and checks all
    texts (keys included) with one ``isprintable`` of their concatenation, which makes it
    about three times faster than ``_walk`` (docs/benchmarks.md, the publish profile). At
    the first doubt it answers False, and ``_walk`` names each field and rule. Anything
    not of a plain type (subclasses, markers) is judged by ``_walk``'s own rule functions.
    """
    texts: list[Any] = []
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            texts.extend(item)  # the keys
            children = item.values()
        elif kind is list or kind is tuple:
            children = item
        else:
            children = (item,)
        for child in children:
            kind = type(child)
            if kind is str:
                texts.append(child)
            elif kind is dict or kind is list or kind is tuple:
                stack.append(child)
            elif kind is int:
                if not LONG_MIN <= child <= LONG_MAX:
                    return False
            elif kind is float:
                if not math.isfinite(child):
                    return False
            elif kind in _PLAIN_LEAVES:
                continue
            elif isinstance(child, str | Mapping | list | tuple) or number_rule(child) is not None:
                return False
    try:
        joined = "".join(texts)
    except TypeError:  # a key that is not text: let _walk judge it
        return False
    return joined.isprintable() or all(text_rule(text) is None for text in texts)


def _walk(value: Any, path: str, issues: list[Issue]) -> None:
    if isinstance(value, str):
        rule = text_rule(value)
        if rule is not None:
            issues.append(Issue(path, rule))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and text_rule(key) is not None:
                issues.append(Issue(path, "holds a key that is not printable text"))
                continue
            _walk(item, f"{path}.{key}" if path else str(key), issues)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", issues)
    else:
        rule = number_rule(value)
        if rule is not None:
            issues.append(Issue(path, rule))


def in_time_range(moment: datetime) -> bool:
    """Whether an aware ``moment`` lies in the exchange's range of years."""
    return TIME_MIN <= moment <= TIME_MAX
