"""The Jiangsu ICD's tables (../shared/icd/jiangsu.md), message type by message type.

Each ``Layout`` lists the body (``SJ``) keys in the ICD table's order with the exchange
field each carries. RYBK and its shared objects (``ZHWZ`` location, ``LXR`` contact,
``ZP`` photo) are spelt out in the ICD; CLBK reuses RYBK's keys "with the same
meanings"; the other five list their keys inline. Jiangsu's own value forms live here:
times ``yyyy-MM-dd HH:mm:ss`` in Asia/Shanghai, dates ``yyyyMMdd``, flags ``1``/``0``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bridge.geo import gcj02_to_wgs84, wgs84_to_gcj02
from bridge.profiles import codes
from bridge.profiles.json_layout import (
    Code,
    Coordinates,
    Integer,
    Key,
    Layout,
    ListOf,
    Object,
    Text,
    Uuid,
    Value,
    Writing,
)
from schemas.errors import LocalFormatError, TranslationError, without_value

ZONE = ZoneInfo("Asia/Shanghai")
_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})", re.ASCII)
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII)


def format_time(moment: datetime, path: str) -> str:
    """``2026-11-20 09:15:02``: the instant in Asia/Shanghai, cut to the second."""
    if moment.tzinfo is None:
        raise TranslationError(f"{path}: a time without a zone")
    local = moment.astimezone(ZONE)
    # Field by field: ``strftime`` through ``format`` costs more than the conversion.
    return (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d} "
        f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
    )


def parse_time(text: str) -> datetime:
    """The UTC instant of a ``yyyy-MM-dd HH:mm:ss`` Asia/Shanghai time; ValueError if none."""
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValueError("must be a time such as 2026-11-20 09:15:02")
    year, month, day, hour, minute, second = map(int, match.groups())
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=ZONE)
    except ValueError:
        raise ValueError("is not a real time (month, day or hour out of range)") from None
    try:
        return local.astimezone(UTC)
    except OverflowError:  # year 0001 shifted from Asia/Shanghai to UTC
        raise ValueError("must lie between the years 1900 and 2100") from None


class Time(Value):
    """A time as ``yyyy-MM-dd HH:mm:ss``; a fraction of a second is cut and reported."""

    def write(self, value: Any, path: str, writing: Writing) -> Any:
        if not isinstance(value, datetime):
            raise TranslationError(f"{path}: a {type(value).__name__} is not a time")
        if value.microsecond:
            writing.truncated.append(path)
        return format_time(value, path)

    def read(self, raw: Any, where: str) -> Any:
        if not isinstance(raw, str):
            raise LocalFormatError(f"{where}: must be a time as text, such as 2026-11-20 09:15:02")
        try:
            return parse_time(raw)
        except ValueError as exc:
            raise LocalFormatError(f"{where}: {without_value(exc)}") from None


class CompactDate(Value):
    """A date as ``yyyyMMdd``."""

    def write(self, value: Any, path: str, writing: Writing) -> Any:
        if not isinstance(value, date) or isinstance(value, datetime):
            raise TranslationError(f"{path}: a {type(value).__name__} is not a date")
        return f"{value.year:04d}{value.month:02d}{value.day:02d}"

    def read(self, raw: Any, where: str) -> Any:
        match = _DATE.fullmatch(raw) if isinstance(raw, str) else None
        if match is None:
            raise LocalFormatError(f"{where}: must be a date such as 19880412")
        try:
            return date(*map(int, match.groups()))
        except ValueError:
            raise LocalFormatError(f"{where}: is not a real date") from None


class Flag(Value):
    """A boolean as the text codes ``1`` (true) and ``0`` (false)."""

    def write(self, value: Any, path: str, writing: Writing) -> Any:
        if not isinstance(value, bool):
            raise TranslationError(f"{path}: a {type(value).__name__} is not true or false")
        return "1" if value else "0"

    def read(self, raw: Any, where: str) -> Any:
        if raw not in ("1", "0"):
            raise LocalFormatError(f'{where}: must be "1" or "0"')
        return raw == "1"


#: Default symbols without a Jiangsu code, written as the contract tells a reader to read them.
PRIORITY = Code(codes.PRIORITY, {"UNKNOWN": "ROUTINE"})
HANDLING = Code(codes.HANDLING, {"OTHER": "ORIGINATOR_CONTROL"})

LOCATION = Layout(
    (
        Coordinates("JD", "WD", wgs84_to_gcj02, gcj02_to_wgs84),
        Key("XZQH", "admin_code", Text(), required=True),
        Key("DZ", "address", Text()),
        Key("SJ", "observed_at", Time()),
    )
)
CONTACT = Layout(
    (
        Key("DW", "unit", Text(), required=True),
        Key("XM", "officer", Text()),
        Key("DH", "phone", Text()),
    )
)
PHOTO = Layout(
    (
        Key("URL", "uri", Text(), required=True),
        Key("SHA256", "sha256", Text(), required=True),
    )
)

#: Keys both alerts have after their own (the order of the RYBK table).
_ALERT_TAIL = (
    Key("JSBS", "caution_flags", ListOf(Code(codes.CAUTION_FLAG))),
    Key("CZYQ", "requested_action", Code(codes.REQUESTED_ACTION), required=True),
)
_ALERT_ISSUE = (
    Key("FBDW", "issuing_agency", Text(), required=True),
    Key("FBSJ", "issued_at", Time(), required=True),
    Key("YXQZ", "valid_until", Time(), required=True),
    Key("CLJB", "handling", HANDLING, required=True),
    Key("FLYJ", "legal_basis", Text(), required=True),
    Key("LXR", "contact", Object(CONTACT)),
)

PERSON_ALERT = Layout(
    (
        Key("BKBH", "alert_id", Uuid(), required=True),
        Key("BBH", "revision", Integer(), required=True),
        Key("BKLB", "category", Code(codes.PERSON_CATEGORY), required=True),
        Key("XM", "subject.name", Text(), required=True),
        Key("XMPY", "subject.name_pinyin", Text()),
        Key("BM", "subject.aliases", ListOf(Text())),
        Key("XB", "subject.sex", Code(codes.SEX), required=True),
        Key("CSRQ", "subject.birth_date", CompactDate()),
        Key("GMSFHM", "subject.id_number", Text()),
        Key("GJ", "subject.nationality", Text()),
        Key("SG", "subject.height_cm", Integer()),
        Key("TZMS", "subject.description", Text()),
        Key("ZP", "subject.photos", ListOf(Object(PHOTO))),
        Key("BKYY", "reason", Text(), required=True),
        Key("AJBH", "case_ref", Text()),
        *_ALERT_TAIL,
        Key("ZHWZ", "last_known", Object(LOCATION)),
        *_ALERT_ISSUE,
    ),
    not_carried={"share_with": [], "related_alerts": []},
)

VEHICLE_ALERT = Layout(
    (
        Key("BKBH", "alert_id", Uuid(), required=True),
        Key("BBH", "revision", Integer(), required=True),
        Key("BKLB", "category", Code(codes.VEHICLE_CATEGORY), required=True),
        Key("HPHM", "plate.number", Text(), required=True),
        Key("HPZL", "plate.type", Code(codes.PLATE_TYPE), required=True),
        Key("CLSBDH", "vin", Text()),
        Key("CLPP", "make", Text()),
        Key("CLXH", "model", Text()),
        Key("CSYS", "body_colour", Code(codes.BODY_COLOUR)),
        Key("GLRY", "linked_person_alerts", ListOf(Uuid())),
        Key("ZHWZ", "last_seen", Object(LOCATION)),
        *_ALERT_TAIL,
        *_ALERT_ISSUE,
    ),
    not_carried={"reason": None, "case_ref": None, "share_with": [], "related_alerts": []},
)

ALERT_STATUS_CHANGE = Layout(
    (
        Key("BKBH", "alert_id", Uuid(), required=True),
        Key("BKDX", "alert_kind", Code(codes.ALERT_KIND), required=True),
        Key("ZT", "status", Code(codes.ALERT_STATUS), required=True),
        Key("YY", "reason", Text()),
        Key("BGSJ", "changed_at", Time(), required=True),
        Key("BGDW", "agency", Text(), required=True),
    )
)

ALERT_HIT = Layout(
    (
        Key("FKBH", "hit_id", Uuid(), required=True),
        Key("BKBH", "alert_id", Uuid(), required=True),
        Key("BKDX", "alert_kind", Code(codes.ALERT_KIND), required=True),
        Key("FKDW", "reporting_agency", Text(), required=True),
        Key("FXSJ", "observed_at", Time(), required=True),
        Key("FXWZ", "location", Object(LOCATION), required=True),
        Key("LY", "source", Code(codes.HIT_SOURCE), required=True),
        Key("CZQK", "action_taken", Text()),
        Key("XQ", "details", Text()),
        Key("XYQR", "confirmation_requested", Flag(), required=True),
        Key("YXJ", "priority", PRIORITY, required=True),
    )
)

HIT_CONFIRMATION = Layout(
    (
        Key("FKBH", "hit_id", Uuid(), required=True),
        Key("BKBH", "alert_id", Uuid(), required=True),
        Key("QRJG", "result", Code(codes.HIT_RESULT), required=True),
        Key("SM", "note", Text()),
        Key("QRSJ", "confirmed_at", Time(), required=True),
        Key("QRDW", "agency", Text(), required=True),
    )
)

ASSISTANCE_REQUEST = Layout(
    (
        Key("QQBH", "request_id", Uuid(), required=True),
        Key("AJBH", "case_ref", Text()),
        Key("QQDW", "requesting_agency", Text(), required=True),
        Key("MBDW", "target_agencies", ListOf(Text())),
        Key("QQLX", "type", Code(codes.ASSISTANCE_TYPE), required=True),
        Key("YXJ", "priority", PRIORITY, required=True),
        Key("QSQX", "ack_by", Time(), required=True),
        Key("HFQX", "respond_by", Time(), required=True),
        Key("GLBK", "linked_alerts", ListOf(Uuid())),
        Key("MS", "description", Text(), required=True),
        Key("FLWS", "legal_documents", ListOf(Text())),
        Key("LXR", "contact", Object(CONTACT)),
    )
)

ASSISTANCE_RESPONSE = Layout(
    (
        Key("HFBH", "response_id", Uuid(), required=True),
        Key("QQBH", "request_id", Uuid(), required=True),
        Key("HFDW", "responding_agency", Text(), required=True),
        Key("ZT", "status", Code(codes.ASSISTANCE_STATUS), required=True),
        Key("NR", "message", Text()),
        Key("JG", "results", ListOf(Text())),
        Key("HFSJ", "responded_at", Time(), required=True),
    )
)

#: The body layout of each event type (its message type code is ``codes.MESSAGE_TYPE``).
BODIES: dict[str, Layout] = {
    "PersonAlert": PERSON_ALERT,
    "VehicleAlert": VEHICLE_ALERT,
    "AlertStatusChange": ALERT_STATUS_CHANGE,
    "AlertHit": ALERT_HIT,
    "HitConfirmation": HIT_CONFIRMATION,
    "AssistanceRequest": ASSISTANCE_REQUEST,
    "AssistanceResponse": ASSISTANCE_RESPONSE,
}
