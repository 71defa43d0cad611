"""Dotted field paths over record dicts (``subject.name``), as profiles name fields.

Profiles that map a record field by field name each field by its exchange path; these
helpers read and write a record by path and list what a translation leaves behind.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any


def get_path(record: Mapping[str, Any], path: str) -> Any:
    """The value at ``path``; None when it, or a record on the way, is absent."""
    value: Any = record
    for key in path.split("."):
        if not isinstance(value, dict):  # records are plain dicts (docs/architecture.md)
            return None
        value = value.get(key)
    return value


def set_path(record: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` in ``record``, creating the nested records on the way."""
    *parents, last = path.split(".")
    target = record
    for key in parents:
        target = target.setdefault(key, {})
    target[last] = value


def leaves(record: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every non-record value of ``record`` with its path; a list is one leaf."""
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from leaves(value, f"{path}.")
        else:
            yield path, value


def is_empty(value: Any) -> bool:
    """Absent, an empty string or an empty list: nothing to lose by leaving it out."""
    return value is None or value == "" or value == []


def dropped_paths(record: Mapping[str, Any], carried: Collection[str]) -> tuple[str, ...]:
    """Paths of ``record`` holding a value that a format carrying only ``carried`` loses.

    Whole-record paths in ``carried`` (``photos``) cover everything below them. In the
    order of ``leaves``; a carried record is not walked at all (every message passes
    here, and most of a record is carried).
    """
    dropped: list[str] = []
    _collect_dropped(record, "", carried, dropped)
    return tuple(dropped)


def _collect_dropped(
    record: Mapping[str, Any], prefix: str, carried: Collection[str], dropped: list[str]
) -> None:
    for key, value in record.items():
        path = f"{prefix}{key}"
        if path in carried:
            continue  # carried, and with it everything below it
        if isinstance(value, dict):
            _collect_dropped(value, f"{path}.", carried, dropped)
        elif not is_empty(value):
            dropped.append(path)
