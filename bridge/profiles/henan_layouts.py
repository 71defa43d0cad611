"""The Henan ICD's record layouts (../shared/icd/henan.md), table by table.

Each field is named by the exchange path it carries, so the translation in
``bridge.profiles.henan`` is driven by these tables rather than by code per event type.
Beside each layout: the code table of every coded field, the list fields (several values
run together in one field), which fields may be blank, and what the format does not carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bridge.formats.fixed_width import FieldKind, FixedField, Layout
from bridge.profiles import codes

_F = FixedField
_TEXT, _CODE, _ID, _NUMBER = FieldKind.TEXT, FieldKind.CODE, FieldKind.ID, FieldKind.NUMBER
_TIME, _DATE, _LON, _LAT = FieldKind.DATETIME, FieldKind.DATE, FieldKind.LON, FieldKind.LAT

#: The 67 bytes that open every record (named as the ICD names them: no record field has
#: these names, so header and body share one namespace of field names).
HEADER = Layout(
    "header",
    (
        _F("record_type", 4, _CODE),
        _F("message_id", 36, _ID),
        _F("sender", 12, _ID),
        _F("sent_at", 14, _TIME),
        _F("truncation_flag", 1, _CODE),
    ),
)
TRUNCATED_FLAG = "T"

#: Booleans (``confirmation_requested``) are written as 1 / 0.
BOOLEAN_CODES = {True: "1", False: "0"}


@dataclass(frozen=True, slots=True)
class ListField:
    """Several values run together in one field: item width, how many fit, cut or refuse."""

    item_width: int
    max_items: int
    #: True: more items than fit are cut (flag T); False: more is a TranslationError.
    cut_when_full: bool
    #: Code table of each item, or None for ids.
    table: Mapping[str, str] | None = None
    #: When cut, this province's own agencies are kept first (XCQQ target agencies).
    home_first: bool = False


@dataclass(frozen=True, slots=True)
class RecordSpec:
    """One record type: its layout and how each field maps to the exchange record."""

    event_type: str
    layout: Layout
    codes: Mapping[str, Mapping[str, str]]
    lists: Mapping[str, ListField] = field(default_factory=dict)
    booleans: frozenset[str] = frozenset()
    #: Fields that may be blank (absent). Every other field must hold a value.
    optional: frozenset[str] = frozenset()
    #: Optional groups (nested records): all their fields blank means the group is absent.
    optional_groups: frozenset[str] = frozenset()
    #: Exchange paths this format does not carry, with their empty value when read back.
    not_carried: Mapping[str, list[str] | None] = field(default_factory=dict)

    @property
    def record_type(self) -> str:
        return self.layout.name

    @property
    def line_layout(self) -> Layout:
        """The whole line: the 67-byte header, then this record type's fields."""
        return Layout(self.layout.name, HEADER.fields + self.layout.fields)


_CAUTION_FLAGS = ListField(2, 5, cut_when_full=False, table=codes.CAUTION_FLAG)
_CONTACT = (_F("contact.unit", 30, _TEXT), _F("contact.officer", 10, _TEXT))
_CONTACT_OPTIONAL = frozenset({"contact.unit", "contact.officer", "contact.phone"})


def _location(group: str, time_name: str) -> tuple[FixedField, ...]:
    return (
        _F(f"{group}.lon", 11, _LON),
        _F(f"{group}.lat", 10, _LAT),
        _F(f"{group}.admin_code", 6, _ID),
        _F(f"{group}.{time_name}", 14, _TIME),
    )


_ALERT_TAIL = (
    _F("issuing_agency", 12, _ID),
    _F("issued_at", 14, _TIME),
    _F("valid_until", 14, _TIME),
    _F("handling", 1, _CODE),
    _F("case_ref", 30, _TEXT),
    _F("reason", 100, _TEXT),
    _F("legal_basis", 60, _TEXT),
    *_CONTACT,
    _F("contact.phone", 15, _TEXT),
)
_ALERT_CODES = {"requested_action": codes.REQUESTED_ACTION, "handling": codes.HANDLING}

PERSON_ALERT = RecordSpec(
    "PersonAlert",
    Layout(
        "RYBK",
        (
            _F("alert_id", 36, _ID),
            _F("revision", 4, _NUMBER),
            _F("category", 2, _CODE),
            _F("subject.name", 30, _TEXT),
            _F("subject.name_pinyin", 40, _TEXT, ascii_only=True),
            _F("subject.sex", 1, _CODE),
            _F("subject.birth_date", 8, _DATE),
            _F("subject.id_number", 18, _ID),
            _F("subject.nationality", 3, _CODE),
            _F("subject.height_cm", 3, _NUMBER),
            _F("requested_action", 2, _CODE),
            _F("caution_flags", 10, _CODE),
            *_location("last_known", "observed_at"),
            *_ALERT_TAIL,
        ),
    ),
    codes={
        **_ALERT_CODES,
        "category": codes.PERSON_CATEGORY,
        "subject.sex": codes.SEX,
    },
    lists={"caution_flags": _CAUTION_FLAGS},
    optional=frozenset(
        {
            "subject.name_pinyin",
            "subject.birth_date",
            "subject.id_number",
            "subject.nationality",
            "subject.height_cm",
            "caution_flags",
            "last_known.observed_at",
            "case_ref",
            *_CONTACT_OPTIONAL - {"contact.unit"},
        }
    ),
    optional_groups=frozenset({"last_known", "contact"}),
    not_carried={
        "subject.aliases": [],
        "subject.description": None,
        "subject.photos": [],
        "last_known.address": None,
        "share_with": [],
        "related_alerts": [],
    },
)

VEHICLE_ALERT = RecordSpec(
    "VehicleAlert",
    Layout(
        "CLBK",
        (
            _F("alert_id", 36, _ID),
            _F("revision", 4, _NUMBER),
            _F("category", 2, _CODE),
            # The ICD calls the plate "text"; it is an identifier all the same: never cut.
            _F("plate.number", 10, _ID),
            _F("plate.type", 2, _CODE),
            _F("vin", 17, _ID),
            _F("make", 20, _TEXT),
            _F("model", 20, _TEXT),
            _F("body_colour", 1, _CODE),
            _F("requested_action", 2, _CODE),
            _F("caution_flags", 10, _CODE),
            *_location("last_seen", "observed_at"),
            *_ALERT_TAIL,
        ),
    ),
    codes={
        **_ALERT_CODES,
        "category": codes.VEHICLE_CATEGORY,
        "plate.type": codes.PLATE_TYPE,
        "body_colour": codes.BODY_COLOUR,
    },
    lists={"caution_flags": _CAUTION_FLAGS},
    optional=frozenset(
        {
            "vin",
            "make",
            "model",
            "body_colour",
            "caution_flags",
            "last_seen.observed_at",
            "case_ref",
            "reason",
            *_CONTACT_OPTIONAL - {"contact.unit"},
        }
    ),
    optional_groups=frozenset({"last_seen", "contact"}),
    not_carried={
        "linked_person_alerts": [],
        "last_seen.address": None,
        "share_with": [],
        "related_alerts": [],
    },
)

ALERT_STATUS_CHANGE = RecordSpec(
    "AlertStatusChange",
    Layout(
        "BKZT",
        (
            _F("alert_id", 36, _ID),
            _F("alert_kind", 2, _CODE),
            _F("status", 2, _CODE),
            _F("changed_at", 14, _TIME),
            _F("agency", 12, _ID),
            _F("reason", 100, _TEXT),
        ),
    ),
    codes={"alert_kind": codes.ALERT_KIND, "status": codes.ALERT_STATUS},
    optional=frozenset({"reason"}),
)

ALERT_HIT = RecordSpec(
    "AlertHit",
    Layout(
        "BZFK",
        (
            _F("hit_id", 36, _ID),
            _F("alert_id", 36, _ID),
            _F("alert_kind", 2, _CODE),
            _F("reporting_agency", 12, _ID),
            _F("observed_at", 14, _TIME),
            *_location("location", "observed_at")[:3],
            _F("source", 2, _CODE),
            _F("confirmation_requested", 1, _CODE),
            _F("priority", 1, _CODE),
            _F("action_taken", 60, _TEXT),
            _F("details", 200, _TEXT),
        ),
    ),
    codes={
        "alert_kind": codes.ALERT_KIND,
        "source": codes.HIT_SOURCE,
        "priority": codes.PRIORITY,
    },
    booleans=frozenset({"confirmation_requested"}),
    optional=frozenset({"action_taken", "details"}),
    not_carried={"location.address": None, "location.observed_at": None},
)

HIT_CONFIRMATION = RecordSpec(
    "HitConfirmation",
    Layout(
        "BZQR",
        (
            _F("hit_id", 36, _ID),
            _F("alert_id", 36, _ID),
            _F("result", 1, _CODE),
            _F("confirmed_at", 14, _TIME),
            _F("agency", 12, _ID),
            _F("note", 100, _TEXT),
        ),
    ),
    codes={"result": codes.HIT_RESULT},
    optional=frozenset({"note"}),
)

ASSISTANCE_REQUEST = RecordSpec(
    "AssistanceRequest",
    Layout(
        "XCQQ",
        (
            _F("request_id", 36, _ID),
            _F("case_ref", 30, _TEXT),
            _F("requesting_agency", 12, _ID),
            _F("target_agencies", 60, _ID),
            _F("type", 2, _CODE),
            _F("priority", 1, _CODE),
            _F("ack_by", 14, _TIME),
            _F("respond_by", 14, _TIME),
            _F("linked_alerts", 108, _ID),
            _F("description", 500, _TEXT),
            *_CONTACT,
            _F("contact.phone", 15, _TEXT),
        ),
    ),
    codes={"type": codes.ASSISTANCE_TYPE, "priority": codes.PRIORITY},
    lists={
        "target_agencies": ListField(12, 5, cut_when_full=True, home_first=True),
        "linked_alerts": ListField(36, 3, cut_when_full=True),
    },
    optional=frozenset(
        {"case_ref", "target_agencies", "linked_alerts", *_CONTACT_OPTIONAL - {"contact.unit"}}
    ),
    optional_groups=frozenset({"contact"}),
    not_carried={"legal_documents": []},
)

ASSISTANCE_RESPONSE = RecordSpec(
    "AssistanceResponse",
    Layout(
        "XCHF",
        (
            _F("response_id", 36, _ID),
            _F("request_id", 36, _ID),
            _F("responding_agency", 12, _ID),
            _F("status", 2, _CODE),
            _F("responded_at", 14, _TIME),
            _F("message", 500, _TEXT),
        ),
    ),
    codes={"status": codes.ASSISTANCE_STATUS},
    optional=frozenset({"message"}),
    not_carried={"results": []},
)

SPECS: tuple[RecordSpec, ...] = (
    PERSON_ALERT,
    VEHICLE_ALERT,
    ALERT_STATUS_CHANGE,
    ALERT_HIT,
    HIT_CONFIRMATION,
    ASSISTANCE_REQUEST,
    ASSISTANCE_RESPONSE,
)
BY_EVENT_TYPE: dict[str, RecordSpec] = {spec.event_type: spec for spec in SPECS}
BY_RECORD_TYPE: dict[str, RecordSpec] = {spec.record_type: spec for spec in SPECS}
