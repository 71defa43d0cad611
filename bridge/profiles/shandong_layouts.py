"""The Shandong ICD's element lists (../shared/icd/shandong.md), event type by event type.

Each ``Node`` pairs an XML element with the exchange field it carries and says how the
value is written. The order is the ICD's (and the XSD's sequence): PersonAlert and
VehicleAlert as the ICD lists them, the five others in the exchange schema's order.
What the ICD leaves out is listed per type in ``not_carried``: PersonAlert has no place
for share_with or related_alerts, VehicleAlert none for reason, case_ref, share_with or
related_alerts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bridge.profiles import codes


class Kind(StrEnum):
    """How a value is written as element text."""

    TEXT = "text"
    INT = "int"
    BOOL = "boolean"
    TIME = "dateTime"  # xs:dateTime with +08:00
    DATE = "date"
    COORD = "decimal"  # 6 decimals
    UUID = "uuid"
    ENUM = "enum"  # the exchange's symbol name
    CODE = "code"  # a local code (``table``)
    GROUP = "group"  # a nested record (``children``)


@dataclass(frozen=True, slots=True)
class Node:
    """One element: the field it carries, its kind, repeated or not."""

    element: str
    key: str
    kind: Kind
    repeated: bool = False
    children: tuple[Node, ...] = ()
    table: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class BodySpec:
    """The body element of one event type and the exchange fields it cannot carry."""

    event_type: str
    nodes: tuple[Node, ...]
    #: Exchange paths with no element, and their empty value when read back.
    not_carried: Mapping[str, list[str] | None] = field(default_factory=dict)

    def carried(self) -> frozenset[str]:
        """Every exchange path an element carries (a group covers what is below it)."""
        return frozenset(_paths(self.nodes, ""))


def _paths(nodes: tuple[Node, ...], prefix: str) -> Iterator[str]:
    for node in nodes:
        path = f"{prefix}{node.key}"
        yield path
        if node.kind is Kind.GROUP and not node.repeated:
            yield from _paths(node.children, f"{path}.")


def _n(element: str, key: str, kind: Kind = Kind.TEXT, *, repeated: bool = False) -> Node:
    return Node(element, key, kind, repeated=repeated)


def _group(element: str, key: str, *children: Node, repeated: bool = False) -> Node:
    return Node(element, key, Kind.GROUP, repeated=repeated, children=children)


def _location(element: str, key: str) -> Node:
    return _group(
        element,
        key,
        _n("Lat", "lat", Kind.COORD),
        _n("Lon", "lon", Kind.COORD),
        _n("AdminCode", "admin_code"),
        _n("Address", "address"),
        _n("ObservedAt", "observed_at", Kind.TIME),
    )


_CONTACT = _group(
    "Contact", "contact", _n("Unit", "unit"), _n("Officer", "officer"), _n("Phone", "phone")
)
_CAUTION_FLAGS = _n("CautionFlag", "caution_flags", Kind.ENUM, repeated=True)
_ALERT_TAIL = (
    _n("IssuingAgency", "issuing_agency"),
    _n("IssuedAt", "issued_at", Kind.TIME),
    _n("ValidUntil", "valid_until", Kind.TIME),
    _n("Handling", "handling", Kind.ENUM),
    _n("LegalBasis", "legal_basis"),
    _CONTACT,
)

PERSON_ALERT = BodySpec(
    "PersonAlert",
    (
        _n("AlertId", "alert_id", Kind.UUID),
        _n("Revision", "revision", Kind.INT),
        _n("Category", "category", Kind.ENUM),
        _group(
            "Subject",
            "subject",
            _n("Name", "name"),
            _n("NamePinyin", "name_pinyin"),
            _n("Alias", "aliases", repeated=True),
            Node("Sex", "sex", Kind.CODE, table=codes.SEX),
            _n("BirthDate", "birth_date", Kind.DATE),
            _n("IdNumber", "id_number"),
            _n("Nationality", "nationality"),
            _n("HeightCm", "height_cm", Kind.INT),
            _n("Description", "description"),
            _group("Photo", "photos", _n("Uri", "uri"), _n("Sha256", "sha256"), repeated=True),
        ),
        _n("Reason", "reason"),
        _n("CaseRef", "case_ref"),
        _CAUTION_FLAGS,
        _n("RequestedAction", "requested_action", Kind.ENUM),
        _location("LastKnown", "last_known"),
        *_ALERT_TAIL,
    ),
    not_carried={"share_with": [], "related_alerts": []},
)

VEHICLE_ALERT = BodySpec(
    "VehicleAlert",
    (
        _n("AlertId", "alert_id", Kind.UUID),
        _n("Revision", "revision", Kind.INT),
        _n("Category", "category", Kind.ENUM),
        _group(
            "Plate",
            "plate",
            _n("Number", "number"),
            Node("Type", "type", Kind.CODE, table=codes.PLATE_TYPE),
        ),
        _n("Vin", "vin"),
        _n("Make", "make"),
        _n("Model", "model"),
        Node("BodyColour", "body_colour", Kind.CODE, table=codes.BODY_COLOUR),
        _n("LinkedPersonAlert", "linked_person_alerts", Kind.UUID, repeated=True),
        _location("LastSeen", "last_seen"),
        _CAUTION_FLAGS,
        _n("RequestedAction", "requested_action", Kind.ENUM),
        *_ALERT_TAIL,
    ),
    not_carried={"reason": None, "case_ref": None, "share_with": [], "related_alerts": []},
)

ALERT_STATUS_CHANGE = BodySpec(
    "AlertStatusChange",
    (
        _n("AlertId", "alert_id", Kind.UUID),
        _n("AlertKind", "alert_kind", Kind.ENUM),
        _n("Status", "status", Kind.ENUM),
        _n("Reason", "reason"),
        _n("ChangedAt", "changed_at", Kind.TIME),
        _n("Agency", "agency"),
    ),
)

ALERT_HIT = BodySpec(
    "AlertHit",
    (
        _n("HitId", "hit_id", Kind.UUID),
        _n("AlertId", "alert_id", Kind.UUID),
        _n("AlertKind", "alert_kind", Kind.ENUM),
        _n("ReportingAgency", "reporting_agency"),
        _n("ObservedAt", "observed_at", Kind.TIME),
        _location("Location", "location"),
        _n("Source", "source", Kind.ENUM),
        _n("ActionTaken", "action_taken"),
        _n("Details", "details"),
        _n("ConfirmationRequested", "confirmation_requested", Kind.BOOL),
        _n("Priority", "priority", Kind.ENUM),
    ),
)

HIT_CONFIRMATION = BodySpec(
    "HitConfirmation",
    (
        _n("HitId", "hit_id", Kind.UUID),
        _n("AlertId", "alert_id", Kind.UUID),
        _n("Result", "result", Kind.ENUM),
        _n("Note", "note"),
        _n("ConfirmedAt", "confirmed_at", Kind.TIME),
        _n("Agency", "agency"),
    ),
)

ASSISTANCE_REQUEST = BodySpec(
    "AssistanceRequest",
    (
        _n("RequestId", "request_id", Kind.UUID),
        _n("CaseRef", "case_ref"),
        _n("RequestingAgency", "requesting_agency"),
        _n("TargetAgency", "target_agencies", repeated=True),
        _n("Type", "type", Kind.ENUM),
        _n("Priority", "priority", Kind.ENUM),
        _n("AckBy", "ack_by", Kind.TIME),
        _n("RespondBy", "respond_by", Kind.TIME),
        _n("LinkedAlert", "linked_alerts", Kind.UUID, repeated=True),
        _n("Description", "description"),
        _n("LegalDocument", "legal_documents", repeated=True),
        _CONTACT,
    ),
)

ASSISTANCE_RESPONSE = BodySpec(
    "AssistanceResponse",
    (
        _n("ResponseId", "response_id", Kind.UUID),
        _n("RequestId", "request_id", Kind.UUID),
        _n("RespondingAgency", "responding_agency"),
        _n("Status", "status", Kind.ENUM),
        _n("Message", "message"),
        _n("Result", "results", repeated=True),
        _n("RespondedAt", "responded_at", Kind.TIME),
    ),
)

SPECS: tuple[BodySpec, ...] = (
    PERSON_ALERT,
    VEHICLE_ALERT,
    ALERT_STATUS_CHANGE,
    ALERT_HIT,
    HIT_CONFIRMATION,
    ASSISTANCE_REQUEST,
    ASSISTANCE_RESPONSE,
)
BY_EVENT_TYPE: dict[str, BodySpec] = {spec.event_type: spec for spec in SPECS}
