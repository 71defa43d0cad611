"""The kafka-python producer: ``runtime.kafka.protocols.Producer`` on ``KafkaProducer``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kafka import KafkaProducer

from runtime.kafka.errors import kafka_errors, mapped
from runtime.kafka.kafka_python_connection import (
    connecting,
    offsets_meta,
    producer_config,
)
from runtime.kafka.options import ProducerOptions
from runtime.kafka.records import (
    GroupMetadata,
    RecordMetadata,
    TopicPartition,
)
from runtime.settings import Settings


class _SendFuture:
    """``SendFuture`` over kafka-python's ``FutureRecordMetadata``."""

    __slots__ = ("_action", "_future")

    def __init__(self, future: Any, action: str) -> None:
        self._future = future
        self._action = action

    @property
    def is_done(self) -> bool:
        return bool(self._future.is_done)

    @property
    def error(self) -> BaseException | None:
        if not self._future.is_done or not self._future.failed():
            return None
        return mapped(self._future.exception, self._action)

    def get(self, timeout_s: float | None = None) -> RecordMetadata:
        with kafka_errors(self._action):
            metadata = self._future.get(timeout=timeout_s)
        return RecordMetadata(metadata.topic, metadata.partition, metadata.offset)


class KafkaPythonProducer:
    """``runtime.kafka.protocols.Producer`` on ``kafka.KafkaProducer``."""

    def __init__(self, producer: KafkaProducer) -> None:
        self._producer = producer

    def send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> _SendFuture:
        try:
            future = self._producer.send(
                topic,
                value=value,
                key=key,
                headers=list(headers) if headers is not None else None,
                partition=partition,
            )
        except BaseException:
            # Mapped as ``kafka_errors`` maps; entered only on failure (a context manager
            # around every send cost ~2 us a record: the audit writes one per message).
            with kafka_errors(f"send to {topic}"):
                raise
        return _SendFuture(future, f"deliver to {topic}")

    def flush(self, timeout_s: float | None = None) -> None:
        with kafka_errors("flush the producer"):
            self._producer.flush(timeout=timeout_s)

    def close(self, timeout_s: float | None = None) -> None:
        with kafka_errors("close the producer"):
            self._producer.close(timeout=timeout_s)

    def force_close(self, join_timeout_s: float = 10.0) -> None:
        """Stop the sender thread without sending; fail what it still holds.

        Private: kafka-python's ``_sender.force_close()`` (checked on 3.0.12; tested in
        test_kafka_private_parts.py). Afterwards ``close()`` returns at once (nothing is
        left to flush), so neither the caller nor kafka-python's ``__del__``/atexit hooks
        wait on records that cannot go.
        """
        sender = self._producer._sender
        sender.force_close()
        sender.join(join_timeout_s)

    def partitions_for(self, topic: str) -> frozenset[int]:
        with kafka_errors(f"find topic {topic} (is it provisioned?)"):
            return frozenset(self._producer.partitions_for(topic) or ())

    def init_transactions(self) -> None:
        with kafka_errors("init transactions"):
            self._producer.init_transactions()

    def begin_transaction(self) -> None:
        with kafka_errors("begin transaction"):
            self._producer.begin_transaction()

    def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, int], group: GroupMetadata
    ) -> None:
        native = group.native if group.native is not None else group.group_id
        with kafka_errors("send offsets to the transaction"):
            self._producer.send_offsets_to_transaction(offsets_meta(offsets), native)

    def commit_transaction(self) -> None:
        with kafka_errors("commit transaction"):
            self._producer.commit_transaction()

    def abort_transaction(self) -> None:
        with kafka_errors("abort transaction"):
            self._producer.abort_transaction()


def open_producer(settings: Settings, options: ProducerOptions) -> KafkaPythonProducer:
    """A connected producer built from :func:`producer_config`."""
    with connecting(settings, "connect producer"):
        return KafkaPythonProducer(KafkaProducer(**producer_config(settings, options)))
