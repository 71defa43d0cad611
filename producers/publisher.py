"""The Publisher: the only way an exchange event gets onto the bus.

A duty desk that reads "sent" must be able to rely on it, and nothing invalid may reach a
partner. So, for every event, in this order and before any byte leaves the process:
validate (the contract's rules, the agreement's agencies, the envelope's routing), route,
key, encode (Avro single-object), add the envelope headers, sign (``MessageBuilder``).
Only then ``send``; and an event is reported ok only when the broker has acknowledged
every copy of it with ``acks=all`` on an idempotent producer (no duplicates from retries,
order kept per partition with up to 5 requests in flight).

When the broker stays away longer than ``delivery_timeout_ms``, the caller gets
``BrokerUnavailable`` for those events — never a silent loss, never a false ok, never a
wait for ever: each event has a deadline (delivery timeout + ``DEADLINE_MARGIN_S``), and
a producer that lets one pass unanswered is replaced (``connection.py`` says why
kafka-python needs that). A failed event is *not confirmed*, not proven absent: a
request the broker wrote just before it died may still be in the log. Publishing it
again is safe, since the message id stays the same and receivers de-duplicate on it.

``publish_many`` pipelines: it keeps up to ``window`` events in flight (a 10,000-line file
is not 10,000 futures at once) and yields outcomes in input order, each as soon as the
events before it are settled.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType

import structlog
from prometheus_client import Counter

from producers.connection import ProducerConnection
from producers.duplicates import DuplicateCheck, LiveAlerts, SubjectLookup
from producers.outgoing import MessageBuilder, OutgoingMessage
from producers.routing import narrowing_withdrawals
from runtime import Settings, Signer, open_producer
from runtime.kafka import Compression, Producer, ProducerOptions, SendFuture
from runtime.metrics import PUBLISHED
from schemas import EVENT_TYPES, Agreement, Codec, ExchangeEvent
from schemas.audiences import AudienceBook
from schemas.errors import BrokerUnavailable, HxError, Issue, ValidationFailed, public_text

log = structlog.get_logger("hxbus.publisher")

#: kafka-python's default; the test of a broker outage shrinks it to seconds.
DEFAULT_DELIVERY_TIMEOUT_MS = 120_000
#: How long past the delivery timeout an unanswered event is given up (see connection.py).
DEADLINE_MARGIN_S = 5.0
#: Events in flight in ``publish_many`` before it waits for the oldest one.
DEFAULT_WINDOW = 2_000
#: Measured on this exchange's records (10,000 alerts, kafka-python 3.0.12, same run):
#: zstd stores ~5x smaller than none and a little smaller than gzip, at the raw
#: producer's speed of no compression, where gzip (level 9 in kafka-python) costs ~25 %
#: and lz4 stores 50 % more than zstd. ``zstandard`` ships wheels: no native build.
#: Every consumer needs it too, so it is a project dependency.
DEFAULT_COMPRESSION: Compression = "zstd"
#: Events of a list validated and built before their messages are sent in one burst.
BUILD_AHEAD = 500

#: An event's validated form and messages, or why it was refused.
_Built = tuple[ExchangeEvent, list[OutgoingMessage]] | ValidationFailed


def producer_overrides(
    *,
    delivery_timeout_ms: int = DEFAULT_DELIVERY_TIMEOUT_MS,
    compression_type: Compression | None = DEFAULT_COMPRESSION,
    linger_ms: int = 5,
    batch_size: int = 16_384,
    max_block_ms: int = 10_000,
) -> ProducerOptions:
    """The Publisher's producer options (acks=all and idempotence are the boundary's).

    Public so that ``hxbus bench`` gives its raw kafka-python producer exactly the
    Publisher's acks, idempotence, compression and batching.
    """
    return ProducerOptions(
        retries=100,
        delivery_timeout_ms=delivery_timeout_ms,
        request_timeout_ms=min(30_000, delivery_timeout_ms - linger_ms),
        linger_ms=linger_ms,
        batch_size=batch_size,
        compression=compression_type,
        max_block_ms=max_block_ms,
        bootstrap_timeout_ms=min(30_000, delivery_timeout_ms),
    )


@dataclass(frozen=True, slots=True)
class Receipt:
    """Where the broker stored one copy of an event."""

    topic: str
    partition: int
    offset: int
    message_id: str

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}@{self.offset}"


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    """What became of one event: receipts of the copies the broker took, or the error.

    A fanned-out AssistanceRequest whose copies partly failed carries both: the receipts
    of the copies stored, and the error of the first copy that was not.
    """

    event: ExchangeEvent
    receipts: tuple[Receipt, ...] = ()
    error: HxError | None = None
    #: What the desk should know although the event went (the duplicate check's notes).
    notices: tuple[Issue, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class _InFlight:
    """An event handed to the producer: one (message, future) per copy, or the error.

    ``deadline`` (monotonic) is when the event counts as not delivered even if
    kafka-python has not said so; ``generation`` is the producer it went to.
    """

    event: ExchangeEvent
    deadline: float
    generation: int = 0
    copies: list[tuple[OutgoingMessage, SendFuture]] = field(default_factory=list)
    error: HxError | None = None
    notices: tuple[Issue, ...] = ()

    def settled(self) -> bool:
        return all(future.is_done for _, future in self.copies)


class Publisher:
    """Validates, encodes, routes, signs and sends exchange events; reports acknowledgements."""

    def __init__(
        self,
        settings: Settings,
        agreement: Agreement,
        *,
        codec: Codec | None = None,
        signer: Signer | None = None,
        producer: Producer | None = None,
        delivery_timeout_ms: int = DEFAULT_DELIVERY_TIMEOUT_MS,
        window: int = DEFAULT_WINDOW,
        compression_type: Compression | None = DEFAULT_COMPRESSION,
        linger_ms: int = 5,
        batch_size: int = 16_384,
        max_block_ms: int = 10_000,
        live_alerts: LiveAlerts | None = None,
        audiences: AudienceBook | None = None,
        lookup: SubjectLookup | None = None,
        restamp: Callable[[ExchangeEvent], ExchangeEvent] | None = None,
    ) -> None:
        #: Where each alert it knows went: need-to-know routing (``producers.audiences``).
        #: Given the issuer's own copies at start by ``hxbus publish``; always kept current
        #: with what this publisher builds.
        self.audiences = audiences if audiences is not None else AudienceBook()
        self._builder = MessageBuilder(
            agreement, codec=codec, signer=signer, audiences=self.audiences
        )
        #: The duplicate check before entry, when the caller knows the live alerts.
        self._duplicates = DuplicateCheck(live_alerts, lookup) if live_alerts is not None else None
        #: The demo's desks: an event whose duplicate check waited for the lookup is built
        #: again from ``restamp(event)`` (created_at = when it leaves). None: time kept.
        self._restamp = restamp
        self._agencies = frozenset(agreement.by_id)
        self._published_ok: dict[tuple[str, str], Counter] = {}
        self._window = max(1, window)
        self._delivery_timeout_s = delivery_timeout_ms / 1000
        self._unreported = 0

        overrides = producer_overrides(
            delivery_timeout_ms=delivery_timeout_ms,
            compression_type=compression_type,
            linger_ms=linger_ms,
            batch_size=batch_size,
            max_block_ms=max_block_ms,
        )

        def connect() -> Producer:
            return open_producer(settings, overrides)

        self._connection = ProducerConnection(
            None if producer is not None else connect,
            producer,
            retry_after_s=min(5.0, self._delivery_timeout_s),
        )

    # -- the API ------------------------------------------------------------------------

    def publish(self, event: ExchangeEvent) -> list[Receipt]:
        """Send one event and wait for the broker; raises its ``HxError`` when it failed."""
        outcome = next(self.publish_many([event]))
        if outcome.error is not None:
            raise outcome.error
        return list(outcome.receipts)

    def publish_many(self, events: Iterable[ExchangeEvent]) -> Iterator[PublishOutcome]:
        """Send ``events`` pipelined; yield one ``PublishOutcome`` per event, in input order."""
        in_flight: deque[_InFlight] = deque()
        for event, built in self._built_ahead(events):
            in_flight.append(self._submit(event, built))
            while in_flight and (len(in_flight) > self._window or in_flight[0].settled()):
                yield self._settle(in_flight.popleft())
        while in_flight:
            yield self._settle(in_flight.popleft())

    def _built_ahead(
        self, events: Iterable[ExchangeEvent]
    ) -> Iterator[tuple[ExchangeEvent, _Built | None]]:
        """Each event, with its messages built beforehand when the whole input is in hand.

        Why (profile in docs/benchmarks.md): building one event between two sends spreads
        the sends out, so kafka-python starts a new batch for nearly every message and
        wakes its sender thread for each (a GIL hand-over, a compression, a request). A
        list's events are validated and built ``BUILD_AHEAD`` at a time and then sent in
        a burst, which fills the batches as a raw producer does. Each event is still
        validated before any of its bytes leave. Not for a stream (its next event may not
        exist yet: simulate, a pipe) nor with the duplicate check, which must see every
        earlier alert sent before it judges the next one.
        """
        if not isinstance(events, Sequence) or self._duplicates is not None:
            yield from ((event, None) for event in events)
            return
        for start in range(0, len(events), BUILD_AHEAD):
            chunk = events[start : start + BUILD_AHEAD]
            built = [self._build(event) for event in chunk]
            yield from zip(chunk, built, strict=True)

    def warm_up(self, topics: Iterable[str]) -> None:
        """Fetch the partitions of ``topics`` now rather than at each topic's first send.

        A first send to a topic waits for its metadata; a rate-holding sender (simulate)
        does that before its clock starts. ``BrokerError`` naming the first topic the
        broker does not know (not provisioned) or when it cannot be reached.
        """
        producer = self._connection.current()
        for topic in topics:
            producer.partitions_for(topic)

    def close(self) -> None:
        """Wait for everything sent to be acknowledged or failed, then close the producer.

        ``BrokerUnavailable`` when events handed over were neither acknowledged nor
        reported before the grace period ended (an iteration of ``publish_many`` left
        unfinished while the broker is away).
        """
        try:
            self._connection.close(timeout_s=self._delivery_timeout_s + DEADLINE_MARGIN_S)
        except BrokerUnavailable:
            if self._unreported:
                raise
            log.warning("publisher_closed_with_abandoned_records")

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
            return
        try:  # already failing: close as well as we can, and let the first error through
            self.close()
        except HxError as close_error:
            log.warning("publisher_close_failed", error=str(close_error))

    # -- one event ----------------------------------------------------------------------

    def _build(self, event: ExchangeEvent) -> _Built:
        """The event's messages, and the withdrawals a narrowing revision owes (sent with
        it, as copies of the one event); the alert's audience is noted once it is built,
        so that its later revisions and status changes in the same run are routed by it."""
        try:
            checked, messages = self._builder.build(event)
            alert_id = checked.record.get("alert_id")
            previous = self.audiences.get(str(alert_id)) if alert_id else None
            for withdrawal in narrowing_withdrawals(checked, previous):
                messages += self._builder.build(withdrawal)[1]
        except ValidationFailed as exc:
            return exc
        self.audiences.note(checked.event_type, checked.record)
        return checked, messages

    def _submit(self, event: ExchangeEvent, built: _Built | None = None) -> _InFlight:
        """Validate and hand every copy to the producer; nothing is sent if anything is wrong.

        ``built``: the event's messages (or its ``ValidationFailed``) built beforehand.
        """
        self._unreported += 1
        deadline = time.monotonic() + self._delivery_timeout_s + DEADLINE_MARGIN_S
        if built is None:
            built = self._build(event)
        if isinstance(built, ValidationFailed):
            return _InFlight(event, deadline, error=built)
        notices: tuple[Issue, ...] = ()
        try:
            checked, messages = built
            if self._duplicates is not None:
                linked = self._duplicates.admit(checked)
                notices = tuple(self._duplicates.notices)
                if self._restamp is not None and self._duplicates.asked:
                    linked = self._restamp(linked or checked)
                if linked is not None:  # rare: built again with the links or the new time
                    checked, messages = self._builder.build(linked)
        except HxError as exc:  # refused, or the lookup could not answer
            return _InFlight(event, deadline, error=exc)
        in_flight = _InFlight(checked, deadline, notices=notices)
        try:
            producer = self._connection.current()
        except HxError as exc:
            in_flight.error = exc
            return in_flight
        in_flight.generation = self._connection.generation
        for message in messages:
            try:
                future = producer.send(
                    message.topic, value=message.value, key=message.key, headers=message.headers
                )
            except HxError as exc:
                in_flight.error = exc
                break
            in_flight.copies.append((message, future))
        if self._duplicates is not None and in_flight.error is None:
            self._duplicates.sent(checked)
        return in_flight

    def _settle(self, in_flight: _InFlight) -> PublishOutcome:
        """Wait for every copy's acknowledgement until the event's deadline.

        The first failure becomes the outcome's error. A copy unanswered at the deadline,
        or failed because its producer was abandoned, is ``BrokerUnavailable``.
        """
        receipts: list[Receipt] = []
        error = in_flight.error
        for message, future in in_flight.copies:
            try:
                metadata = future.get(max(0.0, in_flight.deadline - time.monotonic()))
            except HxError as exc:
                error = error or self._delivery_error(in_flight, message, future, exc)
                continue
            receipts.append(
                Receipt(message.topic, metadata.partition, metadata.offset, message.message_id)
            )
        self._unreported -= 1
        outcome = PublishOutcome(in_flight.event, tuple(receipts), error, in_flight.notices)
        self._record(outcome)
        return outcome

    def _delivery_error(
        self, in_flight: _InFlight, message: OutgoingMessage, future: SendFuture, error: HxError
    ) -> HxError:
        if not future.is_done:  # past the deadline, and kafka-python did not expire it
            self._connection.abandon(in_flight.generation)
        elif in_flight.generation not in self._connection.abandoned:
            return error
        return BrokerUnavailable(
            f"deliver to {message.topic}: not acknowledged within the delivery timeout "
            f"({self._delivery_timeout_s:g} s); the broker did not answer"
        )

    def _record(self, outcome: PublishOutcome) -> None:
        event_type = outcome.event.event_type
        if event_type not in EVENT_TYPES:  # labels come from a closed set
            event_type = "unknown"
        agency = outcome.event.envelope.source
        if agency not in self._agencies:
            agency = "unknown"
        if outcome.error is None:
            if (agency, event_type) not in self._published_ok:  # the child, looked up once
                self._published_ok[agency, event_type] = PUBLISHED.labels(agency, event_type, "ok")
            self._published_ok[agency, event_type].inc()
            return
        # rejected: refused before sending (invalid); failed: the broker did not take it.
        label = "rejected" if isinstance(outcome.error, ValidationFailed) else "failed"
        PUBLISHED.labels(agency, event_type, label).inc()
        log.warning(
            "publish_failed",
            message_id=outcome.event.envelope.message_id,
            event_type=event_type,
            reason=outcome.error.reason,
            error=public_text(outcome.error),  # field paths and rules, never a value
            copies_stored=len(outcome.receipts),
        )
