"""Jiangsu 苏 (Xuzhou, Lianyungang, Suqian): one JSON object per message (icd/jiangsu.md).

Keys are the GA data-element abbreviations of the ICD tables, written in the tables'
order by ``bridge.profiles.jiangsu_layouts``; the envelope is ``XXBH`` (message id),
``XXLX`` (message type code), ``FSDW`` (sender), ``FSSJ`` (sent at) and ``SJ`` (the
body). An absent value is left out, never ``null`` or ``""``. Times are
``yyyy-MM-dd HH:mm:ss`` in Asia/Shanghai, dates ``yyyyMMdd``, coordinates GCJ-02 with six
decimals, codes from the shared tables (``bridge.profiles.codes``).

What is lost, and how it is reported:

- Times are written to the second: the exchange keeps milliseconds, the ICD shows
  seconds. A record time with a non-zero fraction is cut (not rounded) and its path is
  listed in ``LocalMessage.truncated``; a whole-second time loses nothing and is listed
  nowhere. The envelope's ``created_at`` (FSSJ) is cut the same way, unreported: it is
  not a field of the record.
- Fields the ICD has no key for (PersonAlert ``share_with`` and ``related_alerts``;
  VehicleAlert ``reason``, ``case_ref``, ``share_with`` and ``related_alerts``) are
  listed in ``LocalMessage.dropped`` when they hold a value. The envelope's correlation
  id, causation id, traceparent and target have no key either.
- A symbol with no Jiangsu code (category OTHER, caution flag OTHER, status OTHER, …) is
  a ``TranslationError`` naming the field: the message goes to the DLQ. Two default
  symbols have a reading the contract fixes (docs/record-shapes.md) and are written as
  that: Priority UNKNOWN as ROUTINE, Handling OTHER as ORIGINATOR_CONTROL.

Outbound, a file holds one message; an error names the local key (``SJ.ZHWZ.JD``) and
the rule. Records come out in the record form, not yet validated (the outbox validates).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from bridge.formats.json_document import JSON_MEDIA_TYPE, JsonDocumentFormat
from bridge.profiles import codes
from bridge.profiles.base import LocalMessage, ParsedLocal, Profile
from bridge.profiles.jiangsu_layouts import BODIES, format_time, parse_time
from bridge.profiles.json_layout import Style, Writing
from bridge.profiles.paths import dropped_paths
from schemas import Agreement, Envelope, ExchangeEvent
from schemas.errors import LocalFormatError, TranslationError

ENVELOPE_KEYS = ("XXBH", "XXLX", "FSDW", "FSSJ", "SJ")
_STYLE = Style(absent_as_null=False)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class JiangsuProfile(Profile):
    """Exchange events <-> Jiangsu JSON messages."""

    name: ClassVar[str] = "jiangsu"
    version: ClassVar[str] = "1.0"
    extension: ClassVar[str] = ".json"

    def __init__(self, agreement: Agreement | None = None) -> None:
        """``agreement`` is accepted as every profile's is; Jiangsu's mapping needs none."""
        self._json = JsonDocumentFormat(JSON_MEDIA_TYPE)

    def to_local(self, event: ExchangeEvent) -> LocalMessage:
        """One message in a file ``<XXBH>.json``; TranslationError naming the field."""
        envelope = event.envelope
        layout = BODIES.get(envelope.event_type)
        if layout is None:
            raise TranslationError(f"{envelope.event_type}: not a message type of the Jiangsu ICD")
        writing = Writing(_STYLE)
        document = {
            "XXBH": envelope.message_id,
            "XXLX": codes.MESSAGE_TYPE[envelope.event_type],
            "FSDW": envelope.source,
            "FSSJ": format_time(envelope.created_at, "created_at"),
            "SJ": layout.write(event.record, "", writing),
        }
        return LocalMessage(
            file_name=f"{envelope.message_id}{self.extension}",
            content=self._json.encode(document),
            media_type=self._json.media_type,
            truncated=tuple(writing.truncated),
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
                raise LocalFormatError(f"{key}: is not a key of the Jiangsu envelope")
        for key in ENVELOPE_KEYS:
            if document.get(key) in (None, ""):
                raise LocalFormatError(f"{key}: is required")
        message_type = _text(document, "XXLX")
        event_type = next((t for t, c in codes.MESSAGE_TYPE.items() if c == message_type), None)
        if event_type is None:
            known = ", ".join(codes.MESSAGE_TYPE.values())
            raise LocalFormatError(f"XXLX: {message_type!r} is not one of {known}")
        message_id = _text(document, "XXBH").lower()
        if not _UUID.fullmatch(message_id):
            raise LocalFormatError(f"XXBH: must be a uuid, not {message_id!r}")
        try:
            created_at = parse_time(_text(document, "FSSJ"))
        except ValueError as exc:
            raise LocalFormatError(f"FSSJ: {exc}") from None
        envelope = Envelope(
            event_type=event_type,
            source=_text(document, "FSDW"),
            message_id=message_id,
            created_at=created_at,
        )
        return ExchangeEvent(envelope, BODIES[event_type].read(document["SJ"], "SJ"))


def _text(document: Mapping[str, Any], key: str) -> str:
    value = document[key]
    if not isinstance(value, str):
        raise LocalFormatError(f"{key}: must be text")
    return value
