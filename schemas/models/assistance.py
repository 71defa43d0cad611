"""Case coordination: an AssistanceRequest to partner agencies and their responses.

Rules of a request: ``target_agencies`` names at least one agency of the agreement, each
once, never the requester; ``ack_by`` lies between the issue time (the envelope's
``created_at``, passed as ``now`` in the validation context) and the issue time plus the
agreement's deadline for the priority; ``respond_by`` is not before ``ack_by``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import Field, ValidationInfo, field_validator

from schemas.models.common import AssistanceStatus, AssistanceType, Contact, ExchangeModel, Priority
from schemas.models.types import (
    AgencyList,
    AgencyRef,
    OptionalText,
    Text,
    Timestamp,
    Uuid,
    UuidList,
    context_now,
    context_tables,
)
from schemas.timestamps import format_time


class AssistanceRequest(ExchangeModel):
    """A request for help on a case, one message per target agency."""

    request_id: Uuid
    case_ref: OptionalText = None
    requesting_agency: AgencyRef
    target_agencies: AgencyList
    type: AssistanceType
    priority: Priority
    ack_by: Timestamp
    respond_by: Timestamp
    linked_alerts: UuidList = Field(default_factory=list)
    description: Text
    legal_documents: list[Text] = Field(default_factory=list)
    contact: Contact | None = None

    @field_validator("target_agencies")
    @classmethod
    def _targets(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if not value:
            raise ValueError("must name at least one agency")
        requester = info.data.get("requesting_agency")
        if requester in value:
            raise ValueError(f"may not include the requesting agency {requester}")
        return value

    @field_validator("ack_by")
    @classmethod
    def _within_deadline(cls, value: datetime, info: ValidationInfo) -> datetime:
        now = context_now(info)
        if value < now:
            raise ValueError(f"is before the request is issued ({format_time(now)})")
        priority = info.data.get("priority")
        if priority is not None:
            seconds = context_tables(info).agreement.deadline_seconds(priority)
            try:
                latest = now + timedelta(seconds=seconds)
            except OverflowError:  # an issue time at the end of the calendar
                latest = datetime.max.replace(tzinfo=UTC)
            if value > latest:
                raise ValueError(
                    f"must be no later than {format_time(latest)}: "
                    f"{'an' if priority[0] in 'AEIOU' else 'a'} {priority} request "
                    f"is acknowledged within {_duration(seconds)} of its issue"
                )
        return value

    @field_validator("respond_by")
    @classmethod
    def _after_ack(cls, value: datetime, info: ValidationInfo) -> datetime:
        ack_by = info.data.get("ack_by")
        if ack_by is not None and value < ack_by:
            raise ValueError(f"may not be before ack_by ({format_time(ack_by)})")
        return value


class AssistanceResponse(ExchangeModel):
    """A target agency's answer to a request, sent to the requester's inbox."""

    response_id: Uuid
    request_id: Uuid
    responding_agency: AgencyRef
    status: AssistanceStatus
    message: OptionalText = None
    results: list[Text] = Field(default_factory=list)
    responded_at: Timestamp


def _duration(seconds: int) -> str:
    """``10 minutes``, ``1 hour``, ``24 hours``: a deadline as a desk officer says it."""
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} seconds"
