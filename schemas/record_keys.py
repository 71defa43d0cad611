"""The Kafka key of each event type: the business id that must keep its events in order.

Every revision and status change of an alert shares the alert's partition (key
``alert_id``), a hit and its confirmation share ``hit_id``, a request and its responses
share ``request_id`` (docs/architecture.md, Wire).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.errors import Issue, ValidationFailed

#: Which field of the record is the key, per event type.
KEY_FIELDS: dict[str, str] = {
    "PersonAlert": "alert_id",
    "VehicleAlert": "alert_id",
    "AlertStatusChange": "alert_id",
    "AlertHit": "hit_id",
    "HitConfirmation": "hit_id",
    "AssistanceRequest": "request_id",
    "AssistanceResponse": "request_id",
}


def record_key(event_type: str, record: Mapping[str, Any]) -> bytes:
    """UTF-8 of the record's key field; ``ValidationFailed`` when it is absent or not text."""
    field = KEY_FIELDS.get(event_type)
    if field is None:
        raise ValidationFailed([Issue("type", f"{event_type!r} is not an event type with a key")])
    value = record.get(field)
    if not isinstance(value, str) or not value:
        raise ValidationFailed([Issue(field, "is required: it is the message key")])
    return value.encode("utf-8")
