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


#: ``Envelope.evolve``'s "not given" (None is a value: it clears a target).
_KEEP: Any = object()


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

    def evolve(
        self,
        *,
        message_id: str = _KEEP,
        target: str | None = _KEEP,
        correlation_id: str | None = _KEEP,
        **changes: Any,
    ) -> Envelope:
        """This envelope with ``changes``. The three fields a routed copy changes are spelt
        out (once per copy on the publisher's hot path, where ``dataclasses.replace`` costs
        three times as much); any other field goes through ``replace``."""
        copy = Envelope(
            self.event_type,
            self.source,
            self.message_id if message_id is _KEEP else message_id,
            self.created_at,
            self.correlation_id if correlation_id is _KEEP else correlation_id,
            self.causation_id,
            self.traceparent,
            self.target if target is _KEEP else target,
        )
        return replace(copy, **changes) if changes else copy


@dataclass(frozen=True, slots=True)
class ExchangeEvent:
    """One exchange event: its envelope and its record (a dict shaped like the Avro schema)."""

    envelope: Envelope
    record: dict[str, Any]

    @property
    def event_type(self) -> str:
        return self.envelope.event_type
