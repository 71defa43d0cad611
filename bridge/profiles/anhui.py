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

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, ClassVar

from bridge.formats.json_document import JsonDocumentFormat
from bridge.profiles.anhui_layouts import MESSAGE_TYPES, PAYLOADS, from_epoch_ms, to_epoch_ms
from bridge.profiles.base import LocalMessage, ParsedLocal, Profile
from bridge.profiles.json_layout import Style, Writing, absent
from bridge.profiles.paths import dropped_paths
from schemas import Agreement, Envelope, ExchangeEvent
from schemas.errors import LocalFormatError, TranslationError

MEDIA_TYPE = "application/json"
ENVELOPE_KEYS = ("msg_id", "msg_type", "sender", "sent_at_ms", "correlation_id", "payload")
#: ``sent_at_ms`` values below this are seconds (the old client's quirk).
SECONDS_BELOW = 10**11
_STYLE = Style(absent_as_null=True)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class AnhuiProfile(Profile):
    """Exchange events <-> Anhui JSON messages."""

    name: ClassVar[str] = "anhui"
    version: ClassVar[str] = "1.0"
    extension: ClassVar[str] = ".json"

    def __init__(self, agreement: Agreement | None = None) -> None:
        """``agreement`` is accepted as every profile's is; Anhui's mapping needs none."""
        self._json = JsonDocumentFormat(MEDIA_TYPE)

    def to_local(self, event: ExchangeEvent) -> LocalMessage:
        """One message in a file ``<msg_id>.json``; TranslationError naming the field."""
        envelope = event.envelope
        layout = PAYLOADS.get(envelope.event_type)
        if layout is None:
            raise TranslationError(f"{envelope.event_type}: not a message type of the Anhui ICD")
        document = {
            "msg_id": envelope.message_id,
            "msg_type": MESSAGE_TYPES[envelope.event_type],
            "sender": envelope.source,
            "sent_at_ms": to_epoch_ms(envelope.created_at, "created_at"),
            "correlation_id": envelope.correlation_id,
            "payload": layout.write(event.record, "", Writing(_STYLE)),
        }
        return LocalMessage(
            file_name=f"{envelope.message_id}{self.extension}",
            content=self._json.encode(document),
            media_type=self._json.media_type,
            dropped=dropped_paths(event.record, layout.carried()),
        )

    def from_local(self, content: bytes, origin: str) -> Iterator[ParsedLocal]:
        """One message, one event (or the error naming the key and the rule)."""
        try:
            event = self._event(self._json.decode(content))
        except LocalFormatError as exc:
            yield ParsedLocal(1, error=LocalFormatError(f"{origin}: {exc}"))
            return
        yield ParsedLocal(1, event=event)

    def _event(self, document: Mapping[str, Any]) -> ExchangeEvent:
        for key in document:
            if key not in ENVELOPE_KEYS:
                raise LocalFormatError(f"{key}: is not a key of the Anhui envelope")
        for key in ENVELOPE_KEYS:
            if key != "correlation_id" and absent(document.get(key)):
                raise LocalFormatError(f"{key}: is required")
        msg_type = document["msg_type"]
        event_type = next((t for t, m in MESSAGE_TYPES.items() if m == msg_type), None)
        if event_type is None:
            raise LocalFormatError(
                f"msg_type: {msg_type!r} is not one of {', '.join(MESSAGE_TYPES.values())}"
            )
        sender = document["sender"]
        if not isinstance(sender, str):
            raise LocalFormatError("sender: must be text")
        envelope = Envelope(
            event_type=event_type,
            source=sender,
            message_id=_uuid(document["msg_id"], "msg_id"),
            created_at=_sent_at(document["sent_at_ms"]),
            correlation_id=(
                None
                if absent(document.get("correlation_id"))
                else _uuid(document["correlation_id"], "correlation_id")
            ),
        )
        return ExchangeEvent(envelope, PAYLOADS[event_type].read(document["payload"], "payload"))


def _uuid(raw: Any, key: str) -> str:
    text = raw.lower() if isinstance(raw, str) else None
    if text is None or not _UUID.fullmatch(text):
        raise LocalFormatError(f"{key}: must be a uuid, not {raw!r}")
    return text


def _sent_at(raw: Any) -> datetime:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise LocalFormatError("sent_at_ms: must be whole epoch milliseconds")
    milliseconds = raw * 1000 if raw < SECONDS_BELOW else raw
    try:
        return from_epoch_ms(milliseconds)
    except ValueError as exc:
        raise LocalFormatError(f"sent_at_ms: {exc}") from None
