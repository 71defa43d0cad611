"""What a handler receives, what it must implement, and what became of each message.

A handler sees only messages that decoded, carried valid headers, passed the verifier, are
not expired and were not handled before: a ``Delivery``. It takes them one at a time
(``handle``), so that a failure is pinned on the one message that caused it (poison goes
to the DLQ, the rest of the batch goes on), and makes the whole batch durable at once
(``flush``), so that a directory sink fsyncs its directory once per batch, an HTTP sink
may send one bulk request, a Kafka sink flushes its producer. Offsets are committed only
after ``flush`` returned.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from schemas import Envelope, ExchangeEvent


@dataclass(frozen=True, slots=True)
class Delivery:
    """One decoded and checked message, with where it came from on the bus."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    #: The value as it came off the wire (Avro single-object bytes), for verifiers and sinks
    #: that forward bytes unchanged.
    value: bytes
    #: Every header, in wire order (a verifier needs the order).
    header_list: list[tuple[str, bytes]]
    #: The same headers by name (the last one wins if a name repeats).
    headers: Mapping[str, bytes]
    envelope: Envelope
    event_type: str
    record: dict[str, Any]
    #: The Kafka record timestamp (producer create time unless the topic says otherwise), UTC.
    timestamp: datetime

    @property
    def message_id(self) -> str:
        return self.envelope.message_id

    @property
    def source(self) -> str:
        """The agency the message claims as its source (``ce_source``)."""
        return self.envelope.source

    @property
    def event(self) -> ExchangeEvent:
        """The envelope and record as one exchange event (the form bridges translate)."""
        return ExchangeEvent(self.envelope, self.record)


@runtime_checkable
class Handler(Protocol):
    """The receiving end of a consumer: a sink, a bridge, the audit writer, the tracker.

    ``handle`` does the work for one message and raises an ``HxError`` when it cannot:
    ``retriable`` errors (``SinkUnavailable``) make the runtime pause the partition and try
    the same message again after a backoff; any other error sends it to the DLQ. ``flush``
    makes everything handled since the previous flush durable (fsync, bulk send, producer
    flush); if it raises, nothing of the batch counts as done and the batch is redelivered.

    Sinks are idempotent on the message id (the file name, an HTTP ``Idempotency-Key``), so
    a message handled again after a crash between ``flush`` and the runtime's bookkeeping
    is not delivered twice; the runtime's dedupe store is the second line.
    """

    def handle(self, message: Delivery) -> None: ...

    def flush(self) -> None: ...


class Outcome(enum.StrEnum):
    """What the runtime did with one message (the ``outcome`` metrics label)."""

    #: The handler took it, the batch was flushed, the offset is committed.
    HANDLED = "handled"
    #: The dedupe store had its message id: handled before, skipped.
    DUPLICATE = "duplicate"
    #: An alert past its ``valid_until`` when it arrived: never delivered as live, skipped.
    EXPIRED = "expired"
    #: Poison: written to ``hx.dlq.<group>`` with the reason; the stream went on.
    DEAD_LETTERED = "dead_lettered"
