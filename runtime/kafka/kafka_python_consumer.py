"""The kafka-python consumer: ``runtime.kafka.protocols.Consumer`` on ``KafkaConsumer``."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import structlog
from kafka import AsyncConsumerRebalanceListener, KafkaConsumer

from runtime.kafka.errors import kafka_errors, mapped
from runtime.kafka.kafka_python_connection import (
    connecting,
    consumer_config,
    kafka_tp,
    offsets_meta,
    ours_tp,
    record_of,
)
from runtime.kafka.options import ConsumerOptions
from runtime.kafka.parked_fetches import drop_parked_records
from runtime.kafka.protocols import CommitCallback, RebalanceListener
from runtime.kafka.records import (
    GroupMetadata,
    Record,
    TopicPartition,
)
from runtime.settings import Settings

log = structlog.get_logger("hxbus.consumer")


class _Listener(AsyncConsumerRebalanceListener):  # type: ignore[misc]
    """Our ``RebalanceListener`` under kafka-python's.

    kafka-python 3 runs listeners on its IO thread, where a blocking ``commit`` is
    refused: the offsets ``on_revoked`` returns are committed by awaiting
    ``commit_async`` instead.
    """

    def __init__(self, listener: RebalanceListener, consumer: KafkaConsumer) -> None:
        self._listener = listener
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[Any]) -> None:
        offsets = self._listener.on_revoked(frozenset(ours_tp(tp) for tp in revoked))
        if not offsets:
            return
        try:
            await self._consumer.commit_async(offsets_meta(offsets))
        except Exception as exc:  # the dedupe store and the sink absorb the redelivery
            log.warning("commit_on_revoke_failed", partitions=len(offsets), error=str(exc))

    async def on_partitions_assigned(self, assigned: set[Any]) -> None:
        self._listener.on_assigned(frozenset(ours_tp(tp) for tp in assigned))

    async def on_partitions_lost(self, lost: set[Any]) -> None:
        self._listener.on_lost(frozenset(ours_tp(tp) for tp in lost))


class KafkaPythonConsumer:
    """``runtime.kafka.protocols.Consumer`` on ``kafka.KafkaConsumer``."""

    def __init__(self, consumer: KafkaConsumer, group_id: str | None) -> None:
        self._consumer = consumer
        self._group_id = group_id
        #: What ``poll`` reads, for its errors ("read hx.inbox.X: TopicAuthorization...").
        self._reading = "poll"

    def subscribe(self, topics: Sequence[str], listener: RebalanceListener | None = None) -> None:
        wrapped = _Listener(listener, self._consumer) if listener is not None else None
        self._reading = f"read {', '.join(topics)}"
        with kafka_errors("subscribe"):
            self._consumer.subscribe(list(topics), listener=wrapped)

    def unsubscribe(self) -> None:
        with kafka_errors("unsubscribe"):
            self._consumer.unsubscribe()

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        assigned = [kafka_tp(tp) for tp in partitions]
        self._reading = f"read {', '.join(sorted({tp.topic for tp in assigned}))}"
        with kafka_errors("assign partitions"):
            self._consumer.assign(assigned)

    def assignment(self) -> frozenset[TopicPartition]:
        return frozenset(ours_tp(tp) for tp in self._consumer.assignment())

    def topics(self) -> frozenset[str]:
        with kafka_errors("list topics"):
            return frozenset(self._consumer.topics())

    def partitions_for_topic(self, topic: str) -> frozenset[int]:
        with kafka_errors(f"find the partitions of {topic}"):
            return frozenset(self._consumer.partitions_for_topic(topic) or ())

    def poll(
        self, timeout_s: float, max_records: int | None = None
    ) -> dict[TopicPartition, list[Record]]:
        with kafka_errors(self._reading):
            polled = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        return {
            TopicPartition(tp.topic, tp.partition): [record_of(r) for r in records]
            for tp, records in polled.items()
        }

    def pause(self, partitions: Collection[TopicPartition]) -> None:
        self._consumer.pause(*(kafka_tp(tp) for tp in partitions))

    def resume(self, partitions: Collection[TopicPartition]) -> None:
        resumed = [kafka_tp(tp) for tp in partitions]
        self._consumer.resume(*resumed)
        # Else a read-ahead parked while paused keeps the partition unfetched for good.
        drop_parked_records(self._consumer, resumed)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        with kafka_errors("seek"):
            self._consumer.seek(kafka_tp(partition), offset)

    def seek_to_beginning(self, partitions: Collection[TopicPartition]) -> None:
        with kafka_errors("seek to the beginning"):
            self._consumer.seek_to_beginning(*(kafka_tp(tp) for tp in partitions))

    def seek_to_end(self, partitions: Collection[TopicPartition]) -> None:
        with kafka_errors("seek to the end"):
            self._consumer.seek_to_end(*(kafka_tp(tp) for tp in partitions))

    def position(self, partition: TopicPartition) -> int:
        with kafka_errors("read position"):
            return int(self._consumer.position(kafka_tp(partition)))

    def highwater(self, partition: TopicPartition) -> int | None:
        with kafka_errors("read high watermark"):
            value = self._consumer.highwater(kafka_tp(partition))
        return None if value is None else int(value)

    def committed(self, partition: TopicPartition) -> int | None:
        with kafka_errors("read committed offset"):
            value = self._consumer.committed(kafka_tp(partition))
        return None if value is None else int(value)

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        with kafka_errors("commit offsets"):
            self._consumer.commit(offsets_meta(offsets))

    def commit_async(self, offsets: Mapping[TopicPartition, int], callback: CommitCallback) -> None:
        def answered(sent: Mapping[Any, Any], result: Any) -> None:
            positions = {ours_tp(tp): meta.offset for tp, meta in sent.items()}
            error = mapped(result, "commit offsets") if isinstance(result, BaseException) else None
            callback(positions, error)

        with kafka_errors("commit offsets"):
            self._consumer.commit_async(offsets_meta(offsets), callback=answered)

    def group_metadata(self) -> GroupMetadata:
        with kafka_errors("read group metadata"):
            native = self._consumer.group_metadata()
        return GroupMetadata(self._group_id or "", native)

    def beginning_offsets(
        self, partitions: Collection[TopicPartition]
    ) -> dict[TopicPartition, int]:
        with kafka_errors(f"read the first offsets of {len(partitions)} partitions"):
            found = self._consumer.beginning_offsets([kafka_tp(tp) for tp in partitions])
        return {ours_tp(tp): int(offset) for tp, offset in found.items()}

    def end_offsets(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int]:
        with kafka_errors(f"read the end offsets of {len(partitions)} partitions"):
            found = self._consumer.end_offsets([kafka_tp(tp) for tp in partitions])
        return {ours_tp(tp): int(offset) for tp, offset in found.items()}

    def offsets_for_times(
        self, timestamps: Mapping[TopicPartition, int]
    ) -> dict[TopicPartition, int | None]:
        with kafka_errors("find offsets by time"):
            found = self._consumer.offsets_for_times(
                {kafka_tp(tp): stamp for tp, stamp in timestamps.items()}
            )
        return {ours_tp(tp): None if at is None else int(at.offset) for tp, at in found.items()}

    def close(self) -> None:
        with kafka_errors("close consumer"):
            self._consumer.close(autocommit=False)


def open_consumer(settings: Settings, options: ConsumerOptions) -> KafkaPythonConsumer:
    """A connected consumer built from :func:`consumer_config`, one per thread."""
    with connecting(settings, "connect consumer"):
        return KafkaPythonConsumer(
            KafkaConsumer(**consumer_config(settings, options)), options.group_id
        )
