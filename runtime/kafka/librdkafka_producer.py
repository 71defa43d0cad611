"""The librdkafka producer: ``runtime.kafka.protocols.Producer`` on confluent-kafka's ``Producer``.

Delivery reports run only inside ``poll``/``flush``: a send serves them without blocking,
and so does anyone waiting on a ``SendFuture``. ``produce`` never blocks: a full queue is
waited out for ``max_block_ms`` by serving reports.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import confluent_kafka as ck

from runtime.kafka.librdkafka_connection import (
    Connection,
    common_config,
    native_tp,
    opened,
    producer_config,
)
from runtime.kafka.librdkafka_errors import (
    error_for,
    kafka_errors,
    raise_if,
)
from runtime.kafka.options import ProducerOptions
from runtime.kafka.protocols import (
    Producer,
)
from runtime.kafka.records import (
    GroupMetadata,
    RecordMetadata,
    TopicPartition,
)
from runtime.settings import Settings
from schemas.errors import BrokerError, BrokerUnavailable

log = logging.getLogger("hxbus.kafka.librdkafka")


class _Send:
    """A ``SendFuture``: done when librdkafka's delivery report for the record was served.

    The report runs inside a ``poll`` of whichever thread serves the producer; a waiter
    serves it too (``poll`` is thread-safe), so a plain flag is enough: no lock per record.
    """

    __slots__ = ("_done", "_error", "_metadata", "_producer")

    def __init__(self, producer: LibrdkafkaProducer) -> None:
        self._producer = producer
        self._done = False
        self._error: BaseException | None = None
        self._metadata: RecordMetadata | None = None

    def delivered(self, error: ck.KafkaError | None, message: ck.Message) -> None:
        if error is not None:
            self._error = error_for(error, f"send to {message.topic()}")
        else:
            self._metadata = RecordMetadata(
                str(message.topic()), int(message.partition() or 0), int(message.offset() or 0)
            )
        self._done = True

    @property
    def is_done(self) -> bool:
        if not self._done:
            self._producer.serve()
        return self._done

    @property
    def error(self) -> BaseException | None:
        return self._error if self.is_done else None

    def get(self, timeout_s: float | None = None) -> RecordMetadata:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self._done:
            left = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if left <= 0:
                raise BrokerUnavailable(f"no acknowledgement within {timeout_s:g} s")
            self._producer.serve(left)
        if self._error is not None:
            raise self._error
        assert self._metadata is not None  # set before _done when there is no error
        return self._metadata


class LibrdkafkaProducer:
    """``runtime.kafka.protocols.Producer`` on confluent-kafka's ``Producer``."""

    def __init__(
        self, producer: ck.Producer, options: ProducerOptions, common: Mapping[str, Any]
    ) -> None:
        self._producer = producer
        #: The connection settings (for a group-metadata consumer, see _group_metadata).
        self._common = dict(common)
        self._bare_groups: dict[str, Any] = {}
        self._max_block_s = (options.max_block_ms or 60_000) / 1000
        self._transactional = options.transactional_id is not None
        self._closed = False
        self._txn_timeout_s = (options.transaction_timeout_ms or 60_000) / 1000

    def serve(self, timeout_s: float = 0.0) -> None:
        """Run the delivery reports (and logs, errors) that librdkafka has ready."""
        self._producer.poll(timeout_s)

    def send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> _Send:
        future = _Send(self)
        kwargs: dict[str, Any] = {"value": value, "key": key, "on_delivery": future.delivered}
        if headers:
            kwargs["headers"] = list(headers)
        if partition is not None:
            kwargs["partition"] = partition
        deadline = time.monotonic() + self._max_block_s
        with kafka_errors(f"send to {topic}"):
            while True:
                try:
                    self._producer.produce(topic, **kwargs)
                    break
                except BufferError:
                    if time.monotonic() >= deadline:
                        raise
                    self._producer.poll(0.05)  # reports free room in the queue
            self._producer.poll(0)
        return future

    def flush(self, timeout_s: float | None = None) -> None:
        with kafka_errors("flush"):
            left = self._producer.flush(-1 if timeout_s is None else timeout_s)
        if left:
            raise BrokerUnavailable(
                f"flush: {left} records not acknowledged within {timeout_s:g} s"
                if timeout_s is not None
                else f"flush: {left} records not acknowledged"
            )

    def close(self, timeout_s: float | None = None) -> None:
        if self._closed:
            return
        try:
            self.flush(timeout_s)
        finally:
            self._close()

    def force_close(self, join_timeout_s: float = 10.0) -> None:
        """Purge what is queued and in flight (each such send fails with ``_PURGE_*``),
        serve those reports, and close: ``close`` returns at once afterwards."""
        if self._closed:
            return
        try:
            with kafka_errors("force close producer"):
                self._producer.purge(in_queue=True, in_flight=True, blocking=False)
                self._producer.flush(min(join_timeout_s, 1.0))
        finally:
            self._close()

    def _close(self) -> None:
        self._closed = True
        close = getattr(self._producer, "close", None)  # confluent-kafka >= 2.12
        if not callable(close):
            return
        try:
            close()
        except (ck.KafkaException, RuntimeError, SystemError) as exc:
            # confluent-kafka 2.16.1's close() of a producer fenced by a newer instance
            # (a fatal error) tries to abort and fails with a SystemError: the producer
            # is released all the same; nothing is left to report.
            log.warning("close producer: %s", exc)

    def partitions_for(self, topic: str) -> frozenset[int]:
        with kafka_errors(f"metadata of {topic}"):
            metadata = self._producer.list_topics(topic, timeout=30)
        described = metadata.topics.get(topic)
        if described is None:
            raise BrokerError(f"metadata of {topic}: the broker does not know the topic")
        raise_if(described.error, f"metadata of {topic}")
        return frozenset(described.partitions)

    def init_transactions(self) -> None:
        with kafka_errors("init transactions"):
            self._producer.init_transactions(self._txn_timeout_s)

    def begin_transaction(self) -> None:
        with kafka_errors("begin transaction"):
            self._producer.begin_transaction()

    def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, int], group: GroupMetadata
    ) -> None:
        native = [native_tp(tp, offset) for tp, offset in offsets.items()]
        with kafka_errors("send offsets to transaction"):
            self._producer.send_offsets_to_transaction(
                native, self._group_metadata(group), self._txn_timeout_s
            )

    def _group_metadata(self, group: GroupMetadata) -> Any:
        """librdkafka's serialized group metadata: the consumer's own, or (a caller that
        has only the group id) that of a consumer of the group that never joined it, as
        kafka-python sends then: no generation, so the broker does not fence by it."""
        if group.native is not None:
            return group.native
        if group.group_id not in self._bare_groups:
            consumer = ck.Consumer({**self._common, "group.id": group.group_id})
            try:
                self._bare_groups[group.group_id] = consumer.consumer_group_metadata()
            finally:
                consumer.close()
        return self._bare_groups[group.group_id]

    def commit_transaction(self) -> None:
        with kafka_errors("commit transaction"):
            self._producer.commit_transaction(self._txn_timeout_s)

    def abort_transaction(self) -> None:
        with kafka_errors("abort transaction"):
            self._producer.abort_transaction(self._txn_timeout_s)


def open_producer(settings: Settings, options: ProducerOptions) -> Producer:
    """A connected idempotent acks=all producer (transactional with a ``transactional_id``)."""
    connection = Connection()
    config = producer_config(settings, options, connection)
    producer = opened(
        lambda: ck.Producer(config),
        connection,
        settings,
        "connect producer",
        options.bootstrap_timeout_ms,
    )
    common = common_config(settings, connection)
    return LibrdkafkaProducer(producer, options, common)
