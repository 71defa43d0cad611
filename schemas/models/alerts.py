"""Alerts: PersonAlert, VehicleAlert and the AlertStatusChange that ends them.

Rules beyond the field types: ``valid_until`` is after ``issued_at``; ``share_with``
names at least one agency of the agreement unless handling is SHARE_ALL_PARTNERS, and is
empty when it is (every partner receives the alert, so a list would only mislead the
issuer about who sees it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field, ValidationInfo, field_validator

from schemas.models.common import (
    AlertKind,
    AlertStatus,
    BodyColour,
    CautionFlag,
    Contact,
    ExchangeModel,
    Handling,
    Location,
    PersonAlertCategory,
    Plate,
    RequestedAction,
    Subject,
    VehicleAlertCategory,
)
from schemas.models.types import (
    AgencyList,
    AgencyRef,
    OptionalText,
    Revision,
    Text,
    Timestamp,
    Uuid,
    UuidList,
    no_duplicates,
)
from schemas.rules import normalise_vin
from schemas.timestamps import format_time


class _AlertRules(ExchangeModel):
    """Rules both kinds of alert share; the fields themselves are declared in contract order.

    ``share_with`` is validated even when left out (``validate_default``): an absent list
    is exactly what NEED_TO_KNOW and ORIGINATOR_CONTROL refuse.
    """

    @field_validator("valid_until", check_fields=False)
    @classmethod
    def _after_issue(cls, value: datetime, info: ValidationInfo) -> datetime:
        issued_at = info.data.get("issued_at")
        # A second at least: three provinces write times to the second, and an alert valid
        # for less would arrive there already expired (valid_until == issued_at).
        if issued_at is not None and value < issued_at + timedelta(seconds=1):
            raise ValueError(
                f"must be after issued_at ({format_time(issued_at)}), by one second at least"
            )
        return value

    @field_validator("share_with", check_fields=False)
    @classmethod
    def _fits_handling(cls, value: list[str], info: ValidationInfo) -> list[str]:
        handling = info.data.get("handling")
        if handling == "SHARE_ALL_PARTNERS" and value:
            raise ValueError(
                "must be empty when handling is SHARE_ALL_PARTNERS (every partner receives it)"
            )
        if handling not in (None, "SHARE_ALL_PARTNERS") and not value:
            raise ValueError(f"must name at least one agency when handling is {handling}")
        return value

    @field_validator("caution_flags", check_fields=False)
    @classmethod
    def _flags_once(cls, value: list[str]) -> list[str]:
        no_duplicates(value)
        return value


class PersonAlert(_AlertRules):
    """An alert on a person: wanted, suspect, missing, at risk, witness, discreet check."""

    alert_id: Uuid
    revision: Revision
    category: PersonAlertCategory
    subject: Subject
    reason: Text
    case_ref: OptionalText = None
    caution_flags: list[CautionFlag] = Field(default_factory=list)
    requested_action: RequestedAction
    last_known: Location | None = None
    issuing_agency: AgencyRef
    issued_at: Timestamp
    valid_until: Timestamp
    handling: Handling
    share_with: AgencyList = Field(default_factory=list, validate_default=True)
    legal_basis: Text
    contact: Contact | None = None
    related_alerts: UuidList = Field(default_factory=list)


class VehicleAlert(_AlertRules):
    """An alert on a vehicle: stolen, used in crime, hit and run, fugitive, surveillance."""

    alert_id: Uuid
    revision: Revision
    category: VehicleAlertCategory
    plate: Plate
    vin: OptionalText = None
    make: OptionalText = None
    model: OptionalText = None
    body_colour: BodyColour | None = None
    linked_person_alerts: UuidList = Field(default_factory=list)
    last_seen: Location | None = None
    reason: OptionalText = None
    case_ref: OptionalText = None
    caution_flags: list[CautionFlag] = Field(default_factory=list)
    requested_action: RequestedAction
    issuing_agency: AgencyRef
    issued_at: Timestamp
    valid_until: Timestamp
    handling: Handling
    share_with: AgencyList = Field(default_factory=list, validate_default=True)
    legal_basis: Text
    contact: Contact | None = None
    related_alerts: UuidList = Field(default_factory=list)

    @field_validator("vin")
    @classmethod
    def _valid_vin(cls, value: str | None) -> str | None:
        return None if value is None else normalise_vin(value)


class AlertStatusChange(ExchangeModel):
    """An alert withdrawn, resolved or expired: every holder takes it out of service."""

    alert_id: Uuid
    alert_kind: AlertKind
    status: AlertStatus
    reason: OptionalText = None
    changed_at: Timestamp
    agency: AgencyRef
