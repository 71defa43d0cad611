"""Helpers the province-profile tests share: golden pairs, and events a format can carry.

``carriable`` narrows a valid exchange event (from ``hx_event_strategies``) to values that
a file-based ICD can carry without a rule of its own getting in the way: whole seconds
(Shandong and Henan carry seconds), six-decimal coordinates (both write six), and text
without control characters or surrounding spaces (XML 1.0 refuses most control
characters; fixed-width padding is spaces). What each format does with those values is
tested separately, example by example.
"""

from __future__ import annotations

import copy
import json
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from hx_event_strategies import AGREEMENT

from schemas import ExchangeEvent, parse_event

GOLDEN = Path(__file__).parent / "golden" / "bridge"


def golden_event(profile: str, event_type: str) -> ExchangeEvent:
    """The exchange side of a golden pair, through the JSON form's own parser."""
    path = GOLDEN / profile / f"{event_type}.exchange.json"
    return parse_event(json.loads(path.read_text(encoding="utf-8")), AGREEMENT)


def golden_local(profile: str, event_type: str, extension: str) -> bytes:
    """The local side of a golden pair, byte for byte."""
    return (GOLDEN / profile / f"{event_type}.local{extension}").read_bytes()


def carriable(event: ExchangeEvent) -> ExchangeEvent:
    """The event with seconds, six decimals and clean text (see the module docstring)."""
    envelope = event.envelope.evolve(created_at=event.envelope.created_at.replace(microsecond=0))
    return ExchangeEvent(envelope, _clean(event.record))


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, datetime):
        return value.replace(microsecond=0)
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, str):
        kept = "".join(
            c for c in value if unicodedata.category(c) != "Cc" and c not in "\ufffe\uffff"
        )
        return kept.strip(" ") or "x"
    return value


def get_path(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for key in path.split("."):
        value = None if value is None else value[key]
    return value


def emptied(record: dict[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    """A copy of ``record`` with each path (whose parent is present) set to [] or None."""
    result = copy.deepcopy(record)
    for path in paths:
        *parents, last = path.split(".")
        target = get_path(result, ".".join(parents)) if parents else result
        if target is not None:
            target[last] = [] if isinstance(target[last], list) else None
    return result


def non_empty(record: dict[str, Any], paths: Iterable[str]) -> list[str]:
    """The paths holding a value (not None, "", or [])."""
    return sorted(p for p in paths if get_path(record, p) not in (None, "", []))
