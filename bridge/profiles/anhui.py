"""Anhui 皖 (Huaibei, Suzhou): one JSON object per message (icd/anhui.md).

The envelope is ``msg_id``, ``msg_type``, ``sender``, ``sent_at_ms``, ``correlation_id``
and ``payload``, in that order (the order of the ICD's sample); the payload's keys are
listed per message type in ``bridge.profiles.anhui_layouts``. Every key is written, an
absent value as ``null`` (an empty list as ``[]``). Times are epoch milliseconds, dates
``YYYY-MM-DD``, enums lowercase exchange names, coordinates BD-09 with six decimals.

Every exchange symbol has an Anhui form (lowercase names need no table), so an event is
refused (``TranslationError``) only for a value no ICD could hold, such as a plate
without its province character. Fields without a key (alerts' ``share_with`` and
``related_alerts``, a hit location's ``observed_at``) are listed in
``LocalMessage.dropped`` when set; the envelope's causation id, traceparent and target
have no key either.

Outbound, the ICD's legacy quirks are accepted and normalised: a 15-digit ``id_no``
becomes 18 characters, a lowercase ``x`` check character becomes ``X``, a ``plate_no``
that already has its province character keeps one, and a ``sent_at_ms`` below 10^11 is
taken as seconds (one old client sends seconds; 10^11 ms is March 1973, 10^11 s is the
year 5138, so the two cannot be confused for real messages).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from bridge.profiles.anhui_layouts import MESSAGE_TYPES, PAYLOADS, from_epoch_ms, to_epoch_ms
from bridge.profiles.json_layout import Layout, Style, absent
from bridge.profiles.json_profile import JsonProfile, event_type_of, text_of, uuid_of
from schemas import Envelope
from schemas.errors import LocalFormatError, without_value

MEDIA_TYPE = "application/json"
ENVELOPE_KEYS = ("msg_id", "msg_type", "sender", "sent_at_ms", "correlation_id", "payload")
#: ``sent_at_ms`` values below this are seconds (the old client's quirk).
SECONDS_BELOW = 10**11


class AnhuiProfile(JsonProfile):
    """Exchange events <-> Anhui JSON messages."""

    name: ClassVar[str] = "anhui"
    version: ClassVar[str] = "1.0"
    icd: ClassVar[str] = "Anhui"
    media_type: ClassVar[str] = MEDIA_TYPE
    style: ClassVar[Style] = Style(absent_as_null=True)
    envelope_keys: ClassVar[tuple[str, ...]] = ENVELOPE_KEYS
    bodies: ClassVar[Mapping[str, Layout]] = PAYLOADS

    def write_envelope(self, envelope: Envelope) -> dict[str, Any]:
        """Id, type, sender, epoch milliseconds and the correlation id (``null`` if none)."""
        return {
            "msg_id": envelope.message_id,
            "msg_type": MESSAGE_TYPES[envelope.event_type],
            "sender": envelope.source,
            "sent_at_ms": to_epoch_ms(envelope.created_at, "created_at"),
            "correlation_id": envelope.correlation_id,
        }

    def read_envelope(self, document: Mapping[str, Any]) -> Envelope:
        """Every key but ``correlation_id`` is required; ``sent_at_ms`` may be seconds."""
        for key in ENVELOPE_KEYS:
            if key != "correlation_id" and absent(document.get(key)):
                raise LocalFormatError(f"{key}: is required")
        event_type = event_type_of(document["msg_type"], "msg_type", MESSAGE_TYPES)
        sender = text_of(document, "sender")
        return Envelope(
            event_type=event_type,
            source=sender,
            message_id=uuid_of(document["msg_id"], "msg_id"),
            created_at=_sent_at(document["sent_at_ms"]),
            correlation_id=(
                None
                if absent(document.get("correlation_id"))
                else uuid_of(document["correlation_id"], "correlation_id")
            ),
        )


def _sent_at(raw: Any) -> datetime:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise LocalFormatError("sent_at_ms: must be whole epoch milliseconds")
    milliseconds = raw * 1000 if raw < SECONDS_BELOW else raw
    try:
        return from_epoch_ms(milliseconds)
    except ValueError as exc:
        raise LocalFormatError(f"sent_at_ms: {without_value(exc)}") from None
