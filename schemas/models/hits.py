"""Hits: an agency saw the subject of a partner's alert (AlertHit), and the answer to it.

A hit carries a priority (never UNKNOWN at the edge): the issuing agency's confirmation is
due within the agreement's deadline for it (``[deadlines]`` of ``deploy/agencies.toml``).
"""

from __future__ import annotations

from schemas.models.common import AlertKind, ExchangeModel, HitResult, HitSource, Location, Priority
from schemas.models.types import AgencyRef, OptionalText, Timestamp, Uuid


class AlertHit(ExchangeModel):
    """A sighting of an alert's subject, sent to the issuing agency's inbox."""

    hit_id: Uuid
    alert_id: Uuid
    alert_kind: AlertKind
    reporting_agency: AgencyRef
    observed_at: Timestamp
    location: Location
    source: HitSource
    action_taken: OptionalText = None
    details: OptionalText = None
    confirmation_requested: bool
    priority: Priority


class HitConfirmation(ExchangeModel):
    """The issuing agency's answer to a hit: confirmed, not valid, or more information needed."""

    hit_id: Uuid
    alert_id: Uuid
    result: HitResult
    note: OptionalText = None
    confirmed_at: Timestamp
    agency: AgencyRef
