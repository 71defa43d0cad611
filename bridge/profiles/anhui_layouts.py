"""The Anhui ICD's key lists (../shared/icd/anhui.md), message type by message type.

person_alert and vehicle_alert are spelt out in the ICD and follow it key for key. For
the five others the ICD says only "the exchange fields in snake_case, times as ``*_ms``,
enums as lowercase exchange names, coordinates as BD-09"; these are the keys chosen,
each the exchange field's own name unless noted:

- alert_status: ``alert_id, alert_kind, status, reason, changed_at_ms, agency``
- alert_hit: ``hit_id, alert_id, alert_kind, reporting_agency, observed_at_ms,
  location, source, action_taken, details, confirmation_requested, priority``, with
  ``location`` as ``{bd_lng, bd_lat, region_code, address}`` exactly as the ICD's sample
  has it: a hit's own ``observed_at_ms`` times it, so the location's ``observed_at`` is
  not carried (reported as dropped when set)
- hit_confirmation: ``hit_id, alert_id, result, note, confirmed_at_ms, agency``
- assistance_request: ``request_id, case_ref, requesting_agency, target_agencies,
  type, priority, ack_by_ms, respond_by_ms, linked_alerts, description,
  legal_documents, contact`` (``contact`` as the alerts' ``{unit, officer, phone}``)
- assistance_response: ``response_id, request_id, responding_agency, status,
  message, results, responded_at_ms``

An alert's location (``last_known``, ``last_seen``) is ``{bd_lng, bd_lat, region_code,
address, seen_at_ms}``. Lists are written ``[]`` when empty and read as empty from
``null`` too. Anhui's value forms live here: epoch milliseconds, ``YYYY-MM-DD`` dates,
lowercase enum names, sex ``M``/``F``/``U``/``X``, and the legacy quirks of ``id_no``
and ``plate_no`` (the ICD's "Legacy quirks", normalised on the way in).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bridge.geo import bd09_to_wgs84, wgs84_to_bd09
from bridge.profiles import codes
from bridge.profiles.json_layout import (
    Code,
    Coordinates,
    Entry,
    Integer,
    Key,
    Layout,
    ListOf,
    Object,
    Text,
    Uuid,
    Value,
    Writing,
    absent,
)
from bridge.profiles.paths import get_path, is_empty, set_path
from schemas.errors import LocalFormatError, TranslationError, without_value
from schemas.models import ENUM_SYMBOLS
from schemas.rules import normalise_id_number

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_FIRST_GENERATION_ID = re.compile(r"\d{15}", re.ASCII)

SEX = {"MALE": "M", "FEMALE": "F", "UNKNOWN": "U", "UNSPECIFIED": "X"}


def to_epoch_ms(moment: datetime, path: str) -> int:
    """Milliseconds since 1970-01-01T00:00:00Z (exact integer arithmetic)."""
    if moment.tzinfo is None:
        raise TranslationError(f"{path}: a time without a zone")
    return (moment - EPOCH) // _MILLISECOND


def from_epoch_ms(milliseconds: int) -> datetime:
    """The UTC instant ``milliseconds`` after the epoch; ValueError when out of range."""
    try:
        return EPOCH + milliseconds * _MILLISECOND
    except OverflowError:
        raise ValueError(f"{milliseconds} is out of the range of times") from None


class EpochMillis(Value):
    """A time as an integer of epoch milliseconds (UTC)."""

    def write(self, value: Any, path: str, writing: Writing) -> Any:
        if not isinstance(value, datetime):
            raise TranslationError(f"{path}: a {type(value).__name__} is not a time")
        return to_epoch_ms(value, path)

    def read(self, raw: Any, where: str) -> Any:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise LocalFormatError(f"{where}: must be whole epoch milliseconds")
        try:
            return from_epoch_ms(raw)
        except ValueError as exc:
            raise LocalFormatError(f"{where}: {without_value(exc)}") from None


class IsoDate(Value):
    """A date as ``YYYY-MM-DD``."""

    def write(self, value: Any, path: str, writing: Writing) -> Any:
        if not isinstance(value, date) or isinstance(value, datetime):
            raise TranslationError(f"{path}: a {type(value).__name__} is not a date")
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"

    def read(self, raw: Any, where: str) -> Any:
        if not isinstance(raw, str) or not _ISO_DATE.fullmatch(raw):
            raise LocalFormatError(f"{where}: must be a date such as 1988-04-12")
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise LocalFormatError(f"{where}: is not a real date") from None


class Boolean(Value):
    """A JSON ``true`` or ``false``."""

    def write(self, value: Any, path: str, writing: Writing) -> Any:
        if not isinstance(value, bool):
            raise TranslationError(f"{path}: a {type(value).__name__} is not true or false")
        return value

    def read(self, raw: Any, where: str) -> Any:
        if not isinstance(raw, bool):
            raise LocalFormatError(f"{where}: must be true or false")
        return raw


@dataclass(frozen=True, slots=True)
class LowerEnum(Value):
    """An enum symbol as its lowercase name (``WANTED`` ↔ ``wanted``); every symbol has one."""

    enum: str

    def write(self, value: Any, path: str, writing: Writing) -> Any:
        if not isinstance(value, str):
            raise TranslationError(f"{path}: is not a symbol of {self.enum}")
        return value.lower()

    def read(self, raw: Any, where: str) -> Any:
        names = [symbol.lower() for symbol in ENUM_SYMBOLS[self.enum]]
        if raw not in names:
            raise LocalFormatError(f"{where}: is not one of {', '.join(names)}")
        return str(raw).upper()


class IdNumber(Text):
    """``id_no``: a 15-digit first-generation number becomes 18 characters; ``x`` → ``X``.

    Only these legacy forms are normalised here; the contract's rules (check character,
    region, birth date of an 18-character number) are the validator's. A 15-digit
    number that cannot be converted (its date is not a real date) is refused here,
    since there is no 18-character number to hand on.
    """

    def read(self, raw: Any, where: str) -> Any:
        text: str = super().read(raw, where)
        if _FIRST_GENERATION_ID.fullmatch(text):
            try:
                return normalise_id_number(text)
            except ValueError as exc:
                raise LocalFormatError(f"{where}: {without_value(exc)}") from None
        return text.upper()


@dataclass(frozen=True, slots=True)
class PlateSplit(Entry):
    """``plate.number`` as ``plate_province`` (``皖``) and ``plate_no`` (``F12345``).

    Read leniently, as the ICD asks: a ``plate_no`` that already starts with its
    province character is not given a second one (and ``plate_province`` may then be
    null); one that starts with a different province character than ``plate_province``
    is refused.
    """

    province_key: str
    number_key: str
    path: str

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.province_key, self.number_key)

    def write(
        self, record: Mapping[str, Any], out: dict[str, Any], prefix: str, writing: Writing
    ) -> None:
        number = get_path(record, self.path)
        if is_empty(number):
            if writing.style.absent_as_null:
                out[self.province_key] = out[self.number_key] = None
            return
        if not isinstance(number, str) or not _starts_with_plate_character(number):
            raise TranslationError(f"{prefix}{self.path}: does not start with a province character")
        out[self.province_key] = number[0]
        out[self.number_key] = number[1:]

    def read(self, obj: Mapping[str, Any], record: dict[str, Any], where: str) -> None:
        province, rest = obj.get(self.province_key), obj.get(self.number_key)
        number_at, province_at = f"{where}.{self.number_key}", f"{where}.{self.province_key}"
        if absent(rest):
            raise LocalFormatError(f"{number_at}: is required")
        if not isinstance(rest, str):
            raise LocalFormatError(f"{number_at}: must be text")
        if not absent(province) and not isinstance(province, str):
            raise LocalFormatError(f"{province_at}: must be text")
        if _starts_with_plate_character(rest):
            if not absent(province) and province != rest[0]:
                raise LocalFormatError(
                    f"{number_at}: starts with a province character other than "
                    f"the one {self.province_key} gives"
                )
            set_path(record, self.path, rest)
        elif absent(province):
            raise LocalFormatError(f"{province_at}: is required (or a plate_no with it)")
        else:
            set_path(record, self.path, f"{province}{rest}")

    def carried(self, prefix: str) -> Iterator[str]:
        yield f"{prefix}{self.path}"


def _starts_with_plate_character(number: str) -> bool:
    """Whether ``number`` starts with a province character (a Chinese one, not a letter
    or digit). Which characters are provinces' is the contract's plate rule, with the
    agreement's own (a new province's too): this format only splits where one is."""
    return number != "" and not number[0].isascii()


def _location(*, timed: bool) -> Layout:
    entries: tuple[Entry, ...] = (
        Coordinates("bd_lng", "bd_lat", wgs84_to_bd09, bd09_to_wgs84),
        Key("region_code", "admin_code", Text(), required=True),
        Key("address", "address", Text()),
    )
    if timed:
        return Layout((*entries, Key("seen_at_ms", "observed_at", EpochMillis())))
    return Layout(entries, not_carried={"observed_at": None})


LOCATION = _location(timed=True)
HIT_LOCATION = _location(timed=False)
CONTACT = Layout(
    (
        Key("unit", "unit", Text(), required=True),
        Key("officer", "officer", Text()),
        Key("phone", "phone", Text()),
    )
)
PHOTO = Layout(
    (Key("uri", "uri", Text(), required=True), Key("sha256", "sha256", Text(), required=True))
)
PRIORITY = LowerEnum("Priority")
CAUTIONS = Key("cautions", "caution_flags", ListOf(LowerEnum("CautionFlag")))
ACTION = Key("action", "requested_action", LowerEnum("RequestedAction"), required=True)
REASON = Key("reason", "reason", Text())
CASE_NO = Key("case_no", "case_ref", Text())
_ALERT_ISSUE = (
    Key("issuer", "issuing_agency", Text(), required=True),
    Key("issued_at_ms", "issued_at", EpochMillis(), required=True),
    Key("expires_at_ms", "valid_until", EpochMillis(), required=True),
    Key("handling", "handling", LowerEnum("Handling"), required=True),
    Key("legal_basis", "legal_basis", Text(), required=True),
    Key("contact", "contact", Object(CONTACT)),
)
_NOT_CARRIED_BY_ALERTS: dict[str, list[str]] = {"share_with": [], "related_alerts": []}

PERSON_ALERT = Layout(
    (
        Key("alert_id", "alert_id", Uuid(), required=True),
        Key("revision", "revision", Integer(), required=True),
        Key("category", "category", LowerEnum("PersonAlertCategory"), required=True),
        Key("name", "subject.name", Text(), required=True),
        Key("name_pinyin", "subject.name_pinyin", Text()),
        Key("aliases", "subject.aliases", ListOf(Text())),
        Key("sex", "subject.sex", Code(SEX), required=True),
        Key("birth_date", "subject.birth_date", IsoDate()),
        Key("id_no", "subject.id_number", IdNumber()),
        Key("nationality", "subject.nationality", Text()),
        Key("height_cm", "subject.height_cm", Integer()),
        Key("description", "subject.description", Text()),
        Key("photos", "subject.photos", ListOf(Object(PHOTO))),
        Key("reason", "reason", Text(), required=True),
        CASE_NO,
        CAUTIONS,
        ACTION,
        Key("last_known", "last_known", Object(LOCATION)),
        *_ALERT_ISSUE,
    ),
    not_carried=_NOT_CARRIED_BY_ALERTS,
)

VEHICLE_ALERT = Layout(
    (
        Key("alert_id", "alert_id", Uuid(), required=True),
        Key("revision", "revision", Integer(), required=True),
        Key("category", "category", LowerEnum("VehicleAlertCategory"), required=True),
        PlateSplit("plate_province", "plate_no", "plate.number"),
        Key("plate_type", "plate.type", Code(codes.PLATE_TYPE), required=True),
        Key("vin", "vin", Text()),
        Key("make", "make", Text()),
        Key("model", "model", Text()),
        Key("colour", "body_colour", Code(codes.BODY_COLOUR)),
        Key("linked_person_alerts", "linked_person_alerts", ListOf(Uuid())),
        Key("last_seen", "last_seen", Object(LOCATION)),
        CAUTIONS,
        ACTION,
        REASON,
        CASE_NO,
        *_ALERT_ISSUE,
    ),
    not_carried=_NOT_CARRIED_BY_ALERTS,
)

ALERT_STATUS = Layout(
    (
        Key("alert_id", "alert_id", Uuid(), required=True),
        Key("alert_kind", "alert_kind", LowerEnum("AlertKind"), required=True),
        Key("status", "status", LowerEnum("AlertStatus"), required=True),
        REASON,
        Key("changed_at_ms", "changed_at", EpochMillis(), required=True),
        Key("agency", "agency", Text(), required=True),
    )
)

ALERT_HIT = Layout(
    (
        Key("hit_id", "hit_id", Uuid(), required=True),
        Key("alert_id", "alert_id", Uuid(), required=True),
        Key("alert_kind", "alert_kind", LowerEnum("AlertKind"), required=True),
        Key("reporting_agency", "reporting_agency", Text(), required=True),
        Key("observed_at_ms", "observed_at", EpochMillis(), required=True),
        Key("location", "location", Object(HIT_LOCATION), required=True),
        Key("source", "source", LowerEnum("HitSource"), required=True),
        Key("action_taken", "action_taken", Text()),
        Key("details", "details", Text()),
        Key("confirmation_requested", "confirmation_requested", Boolean(), required=True),
        Key("priority", "priority", PRIORITY, required=True),
    )
)

HIT_CONFIRMATION = Layout(
    (
        Key("hit_id", "hit_id", Uuid(), required=True),
        Key("alert_id", "alert_id", Uuid(), required=True),
        Key("result", "result", LowerEnum("HitResult"), required=True),
        Key("note", "note", Text()),
        Key("confirmed_at_ms", "confirmed_at", EpochMillis(), required=True),
        Key("agency", "agency", Text(), required=True),
    )
)

ASSISTANCE_REQUEST = Layout(
    (
        Key("request_id", "request_id", Uuid(), required=True),
        Key("case_ref", "case_ref", Text()),
        Key("requesting_agency", "requesting_agency", Text(), required=True),
        Key("target_agencies", "target_agencies", ListOf(Text())),
        Key("type", "type", LowerEnum("AssistanceType"), required=True),
        Key("priority", "priority", PRIORITY, required=True),
        Key("ack_by_ms", "ack_by", EpochMillis(), required=True),
        Key("respond_by_ms", "respond_by", EpochMillis(), required=True),
        Key("linked_alerts", "linked_alerts", ListOf(Uuid())),
        Key("description", "description", Text(), required=True),
        Key("legal_documents", "legal_documents", ListOf(Text())),
        Key("contact", "contact", Object(CONTACT)),
    )
)

ASSISTANCE_RESPONSE = Layout(
    (
        Key("response_id", "response_id", Uuid(), required=True),
        Key("request_id", "request_id", Uuid(), required=True),
        Key("responding_agency", "responding_agency", Text(), required=True),
        Key("status", "status", LowerEnum("AssistanceStatus"), required=True),
        Key("message", "message", Text()),
        Key("results", "results", ListOf(Text())),
        Key("responded_at_ms", "responded_at", EpochMillis(), required=True),
    )
)

#: Each event type's ``msg_type`` and payload layout.
MESSAGE_TYPES: dict[str, str] = {
    "PersonAlert": "person_alert",
    "VehicleAlert": "vehicle_alert",
    "AlertStatusChange": "alert_status",
    "AlertHit": "alert_hit",
    "HitConfirmation": "hit_confirmation",
    "AssistanceRequest": "assistance_request",
    "AssistanceResponse": "assistance_response",
}
PAYLOADS: dict[str, Layout] = {
    "PersonAlert": PERSON_ALERT,
    "VehicleAlert": VEHICLE_ALERT,
    "AlertStatusChange": ALERT_STATUS,
    "AlertHit": ALERT_HIT,
    "HitConfirmation": HIT_CONFIRMATION,
    "AssistanceRequest": ASSISTANCE_REQUEST,
    "AssistanceResponse": ASSISTANCE_RESPONSE,
}
