"""Hypothesis strategies for records that are valid at the Avro level, built from the schemas.

``event_records("PersonAlert")`` draws records of the current version of an event type in
the record form of docs/architecture.md (uuids as lower-case ``str``, timestamps as
timezone-aware datetimes with millisecond precision, dates as ``date``). They satisfy the
Avro schema, not the domain rules (check characters, agency codes, deadlines): use them to
test what must hold for any encodable record (codec round trips, framing, routing keys).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from schemas import Catalog, repository_catalog
from schemas.record_check import INT_MAX, INT_MIN, LONG_MAX, LONG_MIN, kind_of, named_types

#: Timestamps in any offset China's partners or a test might use; decoded they come back UTC.
_OFFSETS = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))])


def _millisecond(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def timestamps() -> st.SearchStrategy[datetime]:
    """Aware datetimes at millisecond precision, anywhere in years 1..9999 (in UTC)."""
    return st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_OFFSETS
    ).map(_millisecond)


def texts() -> st.SearchStrategy[str]:
    """Any text UTF-8 can carry, Chinese included, kept short."""
    return st.text(st.characters(codec="utf-8"), max_size=12)


class _Builder:
    def __init__(self, schema: Any) -> None:
        self._named = named_types(schema)
        self._strategies: dict[str, st.SearchStrategy[Any]] = {}

    def of(self, node: Any) -> st.SearchStrategy[Any]:
        if isinstance(node, str) and node in self._named:
            if node not in self._strategies:
                # deferred: a recursive type refers to its own strategy
                self._strategies[node] = st.deferred(lambda: self._build(self._named[node]))
            return self._strategies[node]
        return self._build(node)

    def _build(self, node: Any) -> st.SearchStrategy[Any]:
        kind, logical = kind_of(node)
        if kind == "union":
            return st.one_of([self.of(branch) for branch in node])
        if kind in ("record", "error"):
            return st.fixed_dictionaries({f["name"]: self.of(f["type"]) for f in node["fields"]})
        if kind == "enum":
            return st.sampled_from(node["symbols"])
        if kind == "fixed":
            return st.binary(min_size=node["size"], max_size=node["size"])
        if kind == "array":
            return st.lists(self.of(node["items"]), max_size=3)
        if kind == "map":
            return st.dictionaries(texts(), self.of(node["values"]), max_size=3)
        return _leaf(kind, logical)


def _leaf(kind: str, logical: str | None) -> st.SearchStrategy[Any]:
    if (kind, logical) == ("long", "timestamp-millis"):
        return timestamps()
    if (kind, logical) == ("int", "date"):
        return st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
    if (kind, logical) == ("string", "uuid"):
        return st.uuids().map(str)
    leaves: dict[str, st.SearchStrategy[Any]] = {
        "null": st.none(),
        "boolean": st.booleans(),
        "int": st.integers(INT_MIN, INT_MAX),
        "long": st.integers(LONG_MIN, LONG_MAX),
        "float": st.floats(width=32, allow_nan=False),
        "double": st.floats(allow_nan=False),
        "string": texts(),
        "bytes": st.binary(max_size=12),
    }
    return leaves[kind]


def avro_values(schema: Any) -> st.SearchStrategy[Any]:
    """Values valid under a parsed Avro schema (fastavro's parsed form)."""
    return _Builder(schema).of(schema)


def event_records(event_type: str, catalog: Catalog | None = None) -> st.SearchStrategy[Any]:
    """Records of the current version of ``event_type`` (default: the repository catalog)."""
    current = (catalog or repository_catalog()).current(event_type)
    return avro_values(current.schema)
