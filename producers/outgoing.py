"""From an exchange event to the Kafka messages that carry it, without touching Kafka.

Everything the bus must never see wrong is decided here, before a send: the record and
its envelope validated together (``schemas.validate_event``: the contract's rules, the
agreement's agencies, the source is the author), the route (topic and addressee, one copy
per target of a request), the key, the Avro single-object value, the envelope headers,
and the signature over exactly those bytes. Kept apart from the Publisher so that what
would be sent can be inspected and tested without a broker.
"""

from __future__ import annotations

from dataclasses import dataclass

from producers.routing import DIRECTED_TYPES, MISSING_TARGET, routes
from runtime import Signer
from schemas import (
    Agreement,
    Codec,
    ExchangeEvent,
    envelope_headers,
    record_key,
    validate_event,
)
from schemas.audiences import AudienceLookup
from schemas.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One Kafka message, ready for ``runtime.kafka.Producer.send``."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    message_id: str


class MessageBuilder:
    """Validates an event and builds its messages; ``ValidationFailed`` lists every issue."""

    def __init__(
        self,
        agreement: Agreement,
        *,
        codec: Codec | None = None,
        signer: Signer | None = None,
        audiences: AudienceLookup | None = None,
    ) -> None:
        self._agreement = agreement
        self._codec = codec or Codec()
        self._signer = signer
        #: Where earlier revisions of alerts went (``producers.audiences``), for routing.
        self._audiences = audiences

    def validate(self, event: ExchangeEvent) -> ExchangeEvent:
        """The event with its record normalised; ValidationFailed when anything is wrong.

        Checked here whatever the caller checked before: this is the last door before the
        bus. A directed event without target is named too, with the record's issues.
        """
        try:
            return validate_event(event.envelope, event.record, self._agreement)
        except ValidationFailed as failed:
            if event.event_type in DIRECTED_TYPES and event.envelope.target is None:
                raise ValidationFailed([*failed.issues, MISSING_TARGET]) from None
            raise

    def build(self, event: ExchangeEvent) -> tuple[ExchangeEvent, list[OutgoingMessage]]:
        """The validated event and one message per copy of it, in send order."""
        checked = self.validate(event)
        copies = routes(checked, self._agreement, self._audiences)
        event_type = checked.event_type
        value = self._codec.encode(event_type, checked.record)
        key = record_key(event_type, checked.record)
        messages = []
        for route in copies:
            # No hx_fingerprint: the value carries the fingerprint (single-object encoding).
            headers = envelope_headers(route.envelope)
            if self._signer is not None:
                headers = headers + self._signer.sign(route.topic, key, value, headers)
            messages.append(
                OutgoingMessage(route.topic, key, value, headers, route.envelope.message_id)
            )
        return checked, messages
