"""The one small interface every sink implements, and what a delivery became.

A sink puts one translated local message into a local system: a file in an inbox
directory, an HTTP POST, a record on a local Kafka topic. Every sink is idempotent on the
message id (the file name, the ``Idempotency-Key``, the transaction that carries the
consumer offsets), because Kafka delivers at least once and a bridge may crash between
the delivery and the commit of its offset.

The consumer runtime calls ``deliver`` once per message and ``flush`` once per batch,
then commits the batch's offsets. The Kafka sink cannot be made durable apart from the
offsets: the runner hands it the offsets instead (``KafkaSink.commit_offsets``, the
runtime's offset committer) and does not commit them itself.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import ClassVar

from bridge.profiles.base import LocalMessage
from runtime.metrics import SINK_DELIVERIES
from schemas import Envelope, utc_now_ms

#: Closed set of ``sink`` label values (and of the audit record's ``sink`` field).
SINK_KINDS: tuple[str, ...] = ("directory", "http", "kafka")


class DeliveryOutcome(enum.StrEnum):
    """What the local system did with one message that it took."""

    #: New: the local system now holds the message.
    DELIVERED = "delivered"
    #: The local system already held this message id with the same content (a redelivery).
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """One message taken by a sink: how, where, and when the local system acknowledged it.

    A sink that cannot take a message raises instead (``SinkUnavailable`` to retry,
    ``SinkRejected`` for the DLQ); a result always means "the local system has it".
    """

    outcome: DeliveryOutcome
    #: The sink kind, one of :data:`SINK_KINDS`.
    sink: str
    #: Where it went, without secrets: the file name, the URL path, the local topic.
    destination: str
    #: When the sink saw the acknowledgement (UTC, milliseconds).
    delivered_at: datetime
    #: What the local system answered, for the log and the audit reason ("HTTP 201").
    detail: str = ""


class Sink(ABC):
    """Delivers local messages into one local system. One instance per consumer thread."""

    #: The sink kind, one of :data:`SINK_KINDS`.
    kind: ClassVar[str]

    @abstractmethod
    def deliver(
        self, message: LocalMessage, envelope: Envelope, *, key: bytes | None = None
    ) -> DeliveryResult:
        """Hand one message to the local system.

        ``key`` is the exchange record's Kafka key (alert id, hit id, request id): the Kafka
        sink keys the local record by it so that the revisions of one alert stay in order;
        the other sinks ignore it. Raises ``SinkUnavailable`` (retriable) or
        ``SinkRejected`` (for the DLQ).
        """

    @abstractmethod
    def flush(self) -> None:
        """Make everything delivered since the previous flush durable (once per batch)."""

    def close(self) -> None:  # noqa: B027 - a sink without resources needs no close
        """Release connections and files; the sink is not used afterwards."""

    def _result(
        self, outcome: DeliveryOutcome, destination: str, detail: str = ""
    ) -> DeliveryResult:
        """The result of a delivery acknowledged now, counted in the metrics."""
        SINK_DELIVERIES.labels(self.kind, outcome.value).inc()
        return DeliveryResult(outcome, self.kind, destination, utc_now_ms(), detail)

    def __enter__(self) -> Sink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
