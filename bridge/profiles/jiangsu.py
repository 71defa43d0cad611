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

from collections.abc import Mapping
from typing import Any, ClassVar

from bridge.formats.json_document import JSON_MEDIA_TYPE
from bridge.profiles import codes
from bridge.profiles.jiangsu_layouts import BODIES, format_time, parse_time
from bridge.profiles.json_layout import Layout, Style
from bridge.profiles.json_profile import JsonProfile, event_type_of, text_of, uuid_of
from schemas import Envelope
from schemas.errors import LocalFormatError, without_value

ENVELOPE_KEYS = ("XXBH", "XXLX", "FSDW", "FSSJ", "SJ")


class JiangsuProfile(JsonProfile):
    """Exchange events <-> Jiangsu JSON messages."""

    name: ClassVar[str] = "jiangsu"
    version: ClassVar[str] = "1.0"
    icd: ClassVar[str] = "Jiangsu"
    media_type: ClassVar[str] = JSON_MEDIA_TYPE
    style: ClassVar[Style] = Style(absent_as_null=False)
    envelope_keys: ClassVar[tuple[str, ...]] = ENVELOPE_KEYS
    bodies: ClassVar[Mapping[str, Layout]] = BODIES

    def write_envelope(self, envelope: Envelope) -> dict[str, Any]:
        """Id, type code, sender and the send time cut to the second."""
        return {
            "XXBH": envelope.message_id,
            "XXLX": codes.MESSAGE_TYPE[envelope.event_type],
            "FSDW": envelope.source,
            "FSSJ": format_time(envelope.created_at, "created_at"),
        }

    def read_envelope(self, document: Mapping[str, Any]) -> Envelope:
        """Every key is required (the body too)."""
        for key in ENVELOPE_KEYS:
            if document.get(key) in (None, ""):
                raise LocalFormatError(f"{key}: is required")
        event_type = event_type_of(text_of(document, "XXLX"), "XXLX", codes.MESSAGE_TYPE)
        # Lower-cased before the check, so that a refused id is shown lower-cased too.
        message_id = uuid_of(text_of(document, "XXBH").lower(), "XXBH")
        try:
            created_at = parse_time(text_of(document, "FSSJ"))
        except ValueError as exc:
            raise LocalFormatError(f"FSSJ: {without_value(exc)}") from None
        return Envelope(
            event_type=event_type,
            source=text_of(document, "FSDW"),
            message_id=message_id,
            created_at=created_at,
        )
