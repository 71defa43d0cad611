"""Helpers for the JSON profiles' tests (Jiangsu, Anhui): round trips and their comparison.

A round trip through a local format that converts coordinates (GCJ-02, BD-09) and keeps
six decimals brings a point back within centimetres, not bit for bit; ``aligned`` lets a
test compare records exactly everywhere else, and fail if a point moved a metre or more.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from bridge.geo import LonLat, haversine_m
from bridge.profiles import LocalMessage, Profile
from schemas import ExchangeEvent

#: The record fields that hold a Location, in any event type.
LOCATION_FIELDS = ("last_known", "last_seen", "location")
#: How far a round trip may move a point.
TOLERANCE_M = 1.0


def round_trip(profile: Profile, event: ExchangeEvent) -> tuple[LocalMessage, ExchangeEvent]:
    """The local message of ``event`` and the event read back from it."""
    message = profile.to_local(event)
    [parsed] = profile.from_local(message.content, message.file_name)
    assert parsed.error is None, parsed.error
    assert parsed.event is not None
    return message, parsed.event


def aligned(original: dict[str, Any], back: dict[str, Any]) -> dict[str, Any]:
    """``back`` with each location's lat/lon replaced by the original's when within 1 m."""
    result = copy.deepcopy(back)
    for field in LOCATION_FIELDS:
        before, after = original.get(field), result.get(field)
        if isinstance(before, dict) and isinstance(after, dict):
            moved = haversine_m(
                LonLat(before["lon"], before["lat"]), LonLat(after["lon"], after["lat"])
            )
            if moved < TOLERANCE_M:
                after["lat"], after["lon"] = before["lat"], before["lon"]
    return result


def whole_seconds(event: ExchangeEvent) -> ExchangeEvent:
    """The event with every time cut to the second (what a seconds-only format carries)."""
    envelope = event.envelope.evolve(created_at=event.envelope.created_at.replace(microsecond=0))
    return ExchangeEvent(envelope, _seconds(event.record))


def _seconds(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _seconds(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_seconds(item) for item in value]
    if isinstance(value, datetime):
        return value.replace(microsecond=0)
    return value


def with_record(event: ExchangeEvent, **changes: Any) -> ExchangeEvent:
    """The event with some top-level record fields replaced."""
    return ExchangeEvent(event.envelope, {**event.record, **changes})


def without_extensions(event: ExchangeEvent, *, keep_correlation: bool) -> ExchangeEvent:
    """The event's envelope as a format without those attributes reads it back."""
    envelope = event.envelope.evolve(
        causation_id=None,
        traceparent=None,
        target=None,
        correlation_id=event.envelope.correlation_id if keep_correlation else None,
    )
    return ExchangeEvent(envelope, event.record)
