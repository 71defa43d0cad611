"""The envelope: what travels beside a record (in Kafka headers, or CloudEvents JSON).

``ExchangeEvent`` pairs an envelope with its record dict (see docs/architecture.md for the
record form). Both are plain frozen dataclasses: they cross every layer, cheaply.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

#: The seven event types of the contract, in the order of design.md.
EVENT_TYPES: tuple[str, ...] = (
    "PersonAlert",
    "VehicleAlert",
    "AlertStatusChange",
    "AlertHit",
    "HitConfirmation",
    "AssistanceRequest",
    "AssistanceResponse",
)


def new_message_id() -> str:
    return str(uuid.uuid4())


def utc_now_ms() -> datetime:
    """Now, in UTC, truncated to the millisecond (what timestamp-millis can hold)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)


@dataclass(frozen=True, slots=True)
class Envelope:
    """Identity, provenance and routing of one message."""

    event_type: str
    source: str
    message_id: str = field(default_factory=new_message_id)
    created_at: datetime = field(default_factory=utc_now_ms)
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    #: The agency a directed message is addressed to (its inbox); None for broadcasts.
    target: str | None = None

    def evolve(self, **changes: Any) -> Envelope:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class ExchangeEvent:
    """One exchange event: its envelope and its record (a dict shaped like the Avro schema)."""

    envelope: Envelope
    record: dict[str, Any]

    @property
    def event_type(self) -> str:
        return self.envelope.event_type
