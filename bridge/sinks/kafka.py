"""The Kafka sink: local bytes onto a local topic, exactly once, with the consumer offsets.

A province whose local system reads Kafka gets each translated message as one record on
its local topic. Exactly once, because a transaction carries both the batch's records and
the consumer group's offsets (``send_offsets_to_transaction``): either the records become
visible to the local system's ``read_committed`` consumers and the offsets move on, or
neither happens and the batch comes again. A sink killed between ``send`` and commit
leaves an open transaction that the broker aborts when the next instance with the same
``transactional_id`` calls ``init_transactions`` (or when ``transaction_timeout_ms``
passes); the integration test kills one to show it.

So this sink owns the commit of the offsets: the runner calls
``commit_offsets(offsets, consumer.group_metadata())`` after the batch, instead of
``flush()`` followed by its own ``consumer.commit``. An audit writer given this sink as
its producer (``AuditWriter(settings, producer=sink)``) writes its records inside the same
transaction, so a delivery and its audit record are committed, or not, together.

The ``transactional_id`` must be unique per consumer worker and stable across restarts
(``<group>-<worker>``): a restarted worker fences its dead predecessor by it. The consumer
must read with ``isolation_level='read_committed'`` (every ``runtime.kafka`` consumer does).

kafka-python 3.0.12 speaks the transaction protocol from before KIP-890; its
``send_offsets_to_transaction`` and ``commit_transaction`` wait without a time limit
while the broker is unreachable (``init_transactions`` honours ``max_block_ms``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import structlog

from bridge.profiles.base import LocalMessage
from bridge.sinks.base import DeliveryOutcome, DeliveryResult, Sink
from runtime import Settings, open_producer
from runtime.kafka import GroupMetadata, Producer, ProducerOptions, SendFuture, TopicPartition
from schemas import Envelope
from schemas.errors import BrokerError, HxError

log = structlog.get_logger("hxbus.sink.kafka")

#: How long ``flush`` waits for the broker to acknowledge the batch's records, seconds.
DEFAULT_FLUSH_TIMEOUT_S = 60.0


class KafkaSink(Sink):
    """Writes each message to ``topic`` inside a transaction committed with the offsets."""

    kind: ClassVar[str] = "kafka"

    def __init__(
        self,
        settings: Settings,
        topic: str,
        transactional_id: str,
        *,
        transaction_timeout_ms: int = 60_000,
        flush_timeout_s: float = DEFAULT_FLUSH_TIMEOUT_S,
    ) -> None:
        self.topic = topic
        self.transactional_id = transactional_id
        self._settings = settings
        self._transaction_timeout_ms = transaction_timeout_ms
        self._flush_timeout_s = flush_timeout_s
        self._in_transaction = False
        self._pending: list[SendFuture] = []
        self._producer: Producer | None = None
        self._open_producer()

    def deliver(
        self, message: LocalMessage, envelope: Envelope, *, key: bytes | None = None
    ) -> DeliveryResult:
        """Send the message in the open transaction (begun on the batch's first message).

        Keyed by ``key`` (the exchange key, so an alert's revisions stay in one partition
        and in order), else by the message id. It becomes visible with ``commit_offsets``.
        """
        headers = [
            ("ce_id", envelope.message_id.encode()),
            ("ce_type", envelope.event_type.encode()),
            ("ce_source", envelope.source.encode()),
            ("content-type", message.media_type.encode()),
        ]
        self.send(
            self.topic,
            value=message.content,
            key=key or envelope.message_id.encode(),
            headers=headers,
        )
        return self._result(DeliveryOutcome.DELIVERED, self.topic)

    def send(
        self,
        topic: str,
        *,
        value: bytes,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> SendFuture:
        """Send any record in the open transaction (the audit writer's records); a future."""
        producer = self._begin()
        future = producer.send(topic, value=value, key=key, headers=headers)
        self._pending.append(future)
        return future

    def flush(self) -> None:
        """Wait until the broker holds every record sent (still uncommitted, invisible)."""
        if self._producer is None:
            return
        self._producer.flush(self._flush_timeout_s)
        for future in self._pending:
            future.get(self._flush_timeout_s)

    def commit_offsets(
        self, offsets: Mapping[TopicPartition, int], group_metadata: GroupMetadata
    ) -> None:
        """Commit the open transaction with the consumer's next ``offsets`` in it.

        ``offsets`` maps each partition of the batch to the offset of the next message to
        read (last handled + 1); ``group_metadata`` is ``consumer.group_metadata()``, so the
        broker refuses the commit of a consumer that lost its partitions (KIP-447). On any
        failure the transaction is aborted and ``BrokerError`` raised: the runner must seek
        the batch's partitions back to their committed offsets and handle the batch again.
        """
        try:
            producer = self._begin()  # a batch all DLQ'd or duplicate still moves offsets
            self.flush()
            producer.send_offsets_to_transaction(offsets, group_metadata)
            producer.commit_transaction()
        except HxError as exc:
            self.abort()
            raise BrokerError(f"transaction not committed, batch not delivered: {exc}") from exc
        self._in_transaction = False
        self._pending.clear()

    def abort(self) -> None:
        """Abort the open transaction (its records never become visible).

        Call it when the batch failed or the consumer lost partitions. If the producer
        cannot abort (fenced, fatal error, broker gone), it is closed; the next batch opens
        a new one with the same ``transactional_id``, whose ``init_transactions`` aborts
        whatever was left open.
        """
        self._pending.clear()
        if not self._in_transaction or self._producer is None:
            return
        self._in_transaction = False
        try:
            self._producer.abort_transaction()
        except HxError as exc:
            log.warning(
                "transaction_abort_failed", transactional_id=self.transactional_id, error=str(exc)
            )
            self._close_producer()

    def close(self) -> None:
        """Abort what is not committed and close the producer."""
        self.abort()
        self._close_producer()

    def _begin(self) -> Producer:
        """The producer, in a transaction (opening the producer and the transaction if needed)."""
        producer = self._open_producer()
        if not self._in_transaction:
            producer.begin_transaction()
            self._in_transaction = True
        return producer

    def _open_producer(self) -> Producer:
        """The transactional producer; a new one (fencing its predecessors) if there is none."""
        if self._producer is None:
            producer = open_producer(
                self._settings,
                ProducerOptions(
                    transactional_id=self.transactional_id,
                    transaction_timeout_ms=self._transaction_timeout_ms,
                ),
            )
            try:
                producer.init_transactions()
            except HxError:
                producer.close(0)
                raise
            self._producer = producer
        return self._producer

    def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            producer.close(self._flush_timeout_s)
        except HxError as exc:
            log.warning("producer_close_failed", error=str(exc))
