"""Layouts of the JSON ICDs: which local key carries which exchange field, and how.

A ``Layout`` is an ICD table: an ordered tuple of entries, each owning one or more local
keys. ``Key`` maps one local key to one exchange path through a ``Value`` conversion;
``Coordinates`` and ``PlateSplit`` own two keys for one or two fields (a coordinate
system converts longitude and latitude together; Anhui splits a plate in two). The same
table drives both directions, so what is written is exactly what is read back, and the
exchange paths a layout carries (``Layout.carried``) tell what a translation drops.

Writing builds objects in the table's order; an absent value (None, "", []) is left out
(Jiangsu) or written as ``null`` / ``[]`` (Anhui), as ``Style`` says. Reading treats a
missing key, ``null``, ``""`` and ``[]`` alike as absent, refuses keys the table does
not have (a misspelt key must not silently lose a field), and names every problem by
its local key path (``SJ.ZHWZ.JD``, ``payload.id_no``) with the rule broken.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from bridge.geo import LonLat
from bridge.profiles.codes import decode_code, encode_code
from bridge.profiles.paths import get_path, set_path
from schemas.errors import LocalFormatError, TranslationError
from schemas.rules import CHINA_LATITUDE, CHINA_LONGITUDE


@dataclass(frozen=True, slots=True)
class Style:
    """How an ICD writes what is absent."""

    #: True: the key is present with ``null`` (``[]`` for a list); False: the key is left out.
    absent_as_null: bool


@dataclass(slots=True)
class Writing:
    """The state of one inbound translation: its style, and the paths it had to cut."""

    style: Style
    truncated: list[str] = field(default_factory=list)


class Value(ABC):
    """How one present value converts between its exchange and its local form."""

    #: Absent lists are ``[]`` in the record and in a ``null``-writing ICD.
    is_list: ClassVar[bool] = False

    @abstractmethod
    def write(self, value: Any, path: str, writing: Writing) -> Any:
        """The local form of an exchange value; ``path`` names it in a TranslationError."""

    @abstractmethod
    def read(self, raw: Any, where: str) -> Any:
        """The exchange form of a local value; ``where`` names it in a LocalFormatError."""

    def carried(self, path: str) -> Iterator[str]:
        """The exchange paths this value carries, when it sits at ``path``."""
        yield path


class Entry(ABC):
    """One or more local keys of a layout."""

    @property
    @abstractmethod
    def keys(self) -> tuple[str, ...]:
        """The local keys this entry owns, in the order it writes them."""

    @abstractmethod
    def write(
        self, record: Mapping[str, Any], out: dict[str, Any], prefix: str, writing: Writing
    ) -> None:
        """Put this entry's keys into ``out``; ``prefix`` is the record's exchange path."""

    @abstractmethod
    def read(self, obj: Mapping[str, Any], record: dict[str, Any], where: str) -> None:
        """Put this entry's exchange fields into ``record``, read from ``obj``."""

    @abstractmethod
    def carried(self, prefix: str) -> Iterator[str]:
        """The exchange paths this entry carries."""


@dataclass(frozen=True, slots=True)
class Layout:
    """One object of an ICD: its entries in order, and the fields it has no key for."""

    entries: tuple[Entry, ...]
    #: Exchange paths with no key, and their empty value in a record read back.
    not_carried: Mapping[str, Any] = field(default_factory=dict)

    def write(self, record: Mapping[str, Any], prefix: str, writing: Writing) -> dict[str, Any]:
        """The local object of a record (``prefix``: the record's exchange path)."""
        out: dict[str, Any] = {}
        for entry in self.entries:
            entry.write(record, out, prefix, writing)
        return out

    def read(self, obj: Any, where: str) -> dict[str, Any]:
        """The record of a local object; LocalFormatError naming the key and the rule."""
        if not isinstance(obj, Mapping):
            raise LocalFormatError(f"{where}: must be an object")
        known = {key for entry in self.entries for key in entry.keys}
        for key in obj:
            if key not in known:
                shown = key if key.isprintable() and len(key) <= 64 else "(a key not printable)"
                raise LocalFormatError(f"{where}.{shown}: is not a key of this message type")
        record: dict[str, Any] = {}
        for entry in self.entries:
            entry.read(obj, record, where)
        for path, empty in self.not_carried.items():
            set_path(record, path, list(empty) if isinstance(empty, list) else empty)
        return record

    def carried(self, prefix: str = "") -> frozenset[str]:
        """Every exchange path a key of this layout carries."""
        return frozenset(path for entry in self.entries for path in entry.carried(prefix))


def absent(raw: Any) -> bool:
    """A local value that means "nothing here": missing, null, "" or []."""
    return raw is None or raw == "" or raw == []


# -- entries -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Key(Entry):
    """One local key carrying the exchange field at ``path`` (dotted, below the record)."""

    name: str
    path: str
    value: Value
    #: The exchange requires the field: reading refuses a message without it.
    required: bool = False
    #: ``path`` when it names a field of the record itself (no dot), else None.
    _head: str | None = field(init=False, repr=False, compare=False, default=None)

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.name,)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_head", self.path if "." not in self.path else None)

    def write(
        self, record: Mapping[str, Any], out: dict[str, Any], prefix: str, writing: Writing
    ) -> None:
        # Most keys carry a field of the record itself: one lookup, not a path walk.
        head = self._head
        if head is not None:
            value = record.get(head) if isinstance(record, dict) else None
        else:
            value = get_path(record, self.path)
        if value is None or value == "" or value == []:  # ``is_empty``, inlined: every key
            if writing.style.absent_as_null:
                out[self.name] = [] if self.value.is_list else None
            return
        out[self.name] = self.value.write(value, f"{prefix}{self.path}", writing)

    def read(self, obj: Mapping[str, Any], record: dict[str, Any], where: str) -> None:
        raw = obj.get(self.name)
        at = f"{where}.{self.name}"
        if absent(raw):
            if self.required:
                raise LocalFormatError(f"{at}: is required")
            set_path(record, self.path, [] if self.value.is_list else None)
        else:
            set_path(record, self.path, self.value.read(raw, at))

    def carried(self, prefix: str) -> Iterator[str]:
        return self.value.carried(f"{prefix}{self.path}")


Projection = Callable[[LonLat], LonLat]


@dataclass(frozen=True, slots=True)
class Coordinates(Entry):
    """A Location's ``lon`` and ``lat`` as two keys, in a local coordinate system.

    ``to_local`` projects the exchange's WGS-84 point; the local values are written with
    six decimals (about 0.1 m). ``from_local`` projects back; the result is rounded to
    six decimals too, which is all the precision the local value had.
    """

    lon_key: str
    lat_key: str
    to_local: Projection
    from_local: Projection

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.lon_key, self.lat_key)

    def write(
        self, record: Mapping[str, Any], out: dict[str, Any], prefix: str, writing: Writing
    ) -> None:
        point = self.to_local(
            LonLat(_degrees(record, "lon", prefix), _degrees(record, "lat", prefix))
        )
        out[self.lon_key] = decimals(point.lon, 6)
        out[self.lat_key] = decimals(point.lat, 6)

    def read(self, obj: Mapping[str, Any], record: dict[str, Any], where: str) -> None:
        lon = _coordinate(obj.get(self.lon_key), f"{where}.{self.lon_key}", 180.0)
        lat = _coordinate(obj.get(self.lat_key), f"{where}.{self.lat_key}", 90.0)
        point = self.from_local(LonLat(lon, lat))
        record["lat"] = _snapped(round(point.lat, 6), CHINA_LATITUDE)
        record["lon"] = _snapped(round(point.lon, 6), CHINA_LONGITUDE)

    def carried(self, prefix: str) -> Iterator[str]:
        yield f"{prefix}lat"
        yield f"{prefix}lon"


#: Degrees a point may move through a datum conversion and six decimals, there and back.
SNAP_DEGREES = 1e-5


def _snapped(value: float, extent: tuple[float, float]) -> float:
    """``value``, or the edge of China's extent when it lies within ``SNAP_DEGREES`` outside.

    The exchange accepts points inside the extent (``schemas.rules``); one on its edge
    comes back from GCJ-02 or BD-09 with six decimals a hair outside (found by fuzzing),
    and would be refused on its way back in.
    """
    low, high = extent
    if low - SNAP_DEGREES <= value < low:
        return low
    if high < value <= high + SNAP_DEGREES:
        return high
    return value


def decimals(number: float, places: int) -> Decimal:
    """``number`` as a Decimal of exactly ``places`` decimals (the JSON format writes it so)."""
    return Decimal(f"{number:.{places}f}")


def _degrees(record: Mapping[str, Any], name: str, prefix: str) -> float:
    value = record.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TranslationError(f"{prefix}{name}: a {type(value).__name__} is not a coordinate")
    return float(value)


def _coordinate(raw: Any, where: str, limit: float) -> float:
    if absent(raw):
        raise LocalFormatError(f"{where}: is required")
    if not isinstance(raw, int | float) or isinstance(raw, bool):
        raise LocalFormatError(f"{where}: must be a number of decimal degrees")
    if not -limit <= raw <= limit:
        raise LocalFormatError(f"{where}: is not between {-limit:g} and {limit:g}")
    return float(raw)


# -- values --------------------------------------------------------------------------------


class Text(Value):
    """Text, as it is."""

    def write(self, value: Any, path: str, writing: Writing) -> Any:
        if not isinstance(value, str):
            raise TranslationError(f"{path}: a {type(value).__name__} is not text")
        return value

    def read(self, raw: Any, where: str) -> Any:
        if not isinstance(raw, str):
            raise LocalFormatError(f"{where}: must be text")
        return raw


class Uuid(Text):
    """A uuid: text, lower-cased on the way in (the record form's canonical case)."""

    def read(self, raw: Any, where: str) -> Any:
        text: str = super().read(raw, where)
        return text.lower()


class Integer(Value):
    """A JSON integer."""

    def write(self, value: Any, path: str, writing: Writing) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TranslationError(f"{path}: a {type(value).__name__} is not a whole number")
        return value

    def read(self, raw: Any, where: str) -> Any:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise LocalFormatError(f"{where}: must be a whole number")
        return raw


@dataclass(frozen=True, slots=True)
class Code(Value):
    """An enum symbol as a local code of ``table``.

    ``reader_rules`` maps a default symbol without a code to the symbol the contract tells
    a reader to take it for (Priority UNKNOWN is read as ROUTINE): such a value is
    written as that symbol's code rather than refused.
    """

    table: Mapping[str, str]
    reader_rules: Mapping[str, str] = field(default_factory=dict)

    def write(self, value: Any, path: str, writing: Writing) -> Any:
        return encode_code(self.table, self.reader_rules.get(value, value), path)

    def read(self, raw: Any, where: str) -> Any:
        if not isinstance(raw, str):
            raise LocalFormatError(
                f"{where}: must be a code as text, such as {_first(self.table)!r}"
            )
        return decode_code(self.table, raw, where)


def _first(table: Mapping[str, str]) -> str:
    return next(iter(table.values()))


@dataclass(frozen=True, slots=True)
class ListOf(Value):
    """A JSON array of values of one kind."""

    item: Value
    is_list: ClassVar[bool] = True

    def write(self, value: Any, path: str, writing: Writing) -> Any:
        if not isinstance(value, list | tuple):
            raise TranslationError(f"{path}: a {type(value).__name__} is not a list")
        return [self.item.write(item, f"{path}[{i}]", writing) for i, item in enumerate(value)]

    def read(self, raw: Any, where: str) -> Any:
        if not isinstance(raw, list):
            raise LocalFormatError(f"{where}: must be an array")
        return [self.item.read(item, f"{where}[{i}]") for i, item in enumerate(raw)]


@dataclass(frozen=True, slots=True)
class Object(Value):
    """A nested JSON object laid out by its own ``Layout`` (a contact, a location)."""

    layout: Layout

    def write(self, value: Any, path: str, writing: Writing) -> Any:
        if not isinstance(value, Mapping):
            raise TranslationError(f"{path}: a {type(value).__name__} is not a record")
        return self.layout.write(value, f"{path}.", writing)

    def read(self, raw: Any, where: str) -> Any:
        return self.layout.read(raw, where)

    def carried(self, path: str) -> Iterator[str]:
        """The nested fields one by one: a layout may leave some out (a hit's location time)."""
        return iter(self.layout.carried(f"{path}."))
