"""In-memory stand-ins for ``runtime.kafka``'s Producer and Consumer, for unit tests.

They implement the protocols of ``runtime.kafka.protocols`` (mypy checks this module:
see ``[tool.mypy] files``), so a change to the boundary that the fakes do not follow
fails the type check, not a broker test an hour later.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from runtime.kafka import (
    CommitCallback,
    Consumer,
    GroupMetadata,
    Producer,
    RebalanceListener,
    Record,
    RecordMetadata,
    SendFuture,
    TopicPartition,
)
from schemas.errors import BrokerUnavailable

#: A timestamp for records that do not care (2025-11-24T16:00:00Z).
TIMESTAMP_MS = 1_764_000_000_000


def record(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: Iterable[tuple[str, bytes]] = (),
    timestamp_ms: int = TIMESTAMP_MS,
) -> Record:
    """A ``Record`` as a consumer would return it."""
    return Record(topic, partition, offset, key, value, tuple(headers), timestamp_ms)


@dataclass
class FakeFuture:
    """A send that is done (acknowledged, or failed with ``failure``) or still pending."""

    metadata: RecordMetadata
    failure: BaseException | None = None
    done: bool = True

    @property
    def is_done(self) -> bool:
        return self.done

    @property
    def error(self) -> BaseException | None:
        return self.failure if self.done else None

    def get(self, timeout_s: float | None = None) -> RecordMetadata:
        if not self.done:
            raise BrokerUnavailable(f"no acknowledgement within {timeout_s} s")
        if self.failure is not None:
            raise self.failure
        return self.metadata


@dataclass
class FakeProducer:
    """Keeps what was sent; ``failure`` makes every send fail with it. ``calls`` lists the
    flush/close/force_close/transaction calls in order."""

    name: str = "producer"
    failure: BaseException | None = None
    sent: list[tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]] = field(
        default_factory=list
    )
    calls: list[str] = field(default_factory=list)
    closed: bool = False

    def send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> FakeFuture:
        self.sent.append((topic, key, value, list(headers or ())))
        metadata = RecordMetadata(topic, partition or 0, len(self.sent) - 1)
        return FakeFuture(metadata, self.failure)

    def flush(self, timeout_s: float | None = None) -> None:
        self.calls.append("flush")

    def close(self, timeout_s: float | None = None) -> None:
        self.calls.append("close")
        self.closed = True

    def force_close(self, join_timeout_s: float = 10.0) -> None:
        self.calls.append("force_close")

    def partitions_for(self, topic: str) -> frozenset[int]:
        return frozenset({0})

    def init_transactions(self) -> None:
        self.calls.append("init_transactions")

    def begin_transaction(self) -> None:
        self.calls.append("begin_transaction")

    def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, int], group: GroupMetadata
    ) -> None:
        self.calls.append("send_offsets_to_transaction")

    def commit_transaction(self) -> None:
        self.calls.append("commit_transaction")

    def abort_transaction(self) -> None:
        self.calls.append("abort_transaction")


class FakeConsumer:
    """Partitions as lists of records; poll, seek, pause, resume and commit as a real
    consumer does (a commit callback runs in the next poll). ``highwaters``: what
    ``highwater`` answers per partition (None: nothing fetched yet)."""

    def __init__(
        self,
        log: dict[TopicPartition, list[Record]],
        committed: dict[TopicPartition, int] | None = None,
        highwaters: Mapping[TopicPartition, int] | None = None,
    ) -> None:
        self.log = log
        self.committed_offsets = committed if committed is not None else {}
        self.positions = {tp: self.committed_offsets.get(tp, 0) for tp in log}
        self.highwaters = dict(highwaters or {})
        self.paused: set[TopicPartition] = set()
        self.commits: list[dict[TopicPartition, int]] = []
        self.seeks: list[tuple[TopicPartition, int]] = []
        self.answers: list[tuple[CommitCallback, dict[TopicPartition, int]]] = []
        self.listener: RebalanceListener | None = None
        self.joined = False
        self.closed = False

    def subscribe(self, topics: Sequence[str], listener: RebalanceListener | None = None) -> None:
        self.listener = listener

    def unsubscribe(self) -> None:
        self.listener = None

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        pass

    def assignment(self) -> frozenset[TopicPartition]:
        return frozenset(self.log)

    def topics(self) -> frozenset[str]:
        return frozenset(tp.topic for tp in self.log)

    def partitions_for_topic(self, topic: str) -> frozenset[int]:
        return frozenset(tp.partition for tp in self.log if tp.topic == topic)

    def poll(
        self, timeout_s: float, max_records: int | None = None
    ) -> dict[TopicPartition, list[Record]]:
        if self.listener is not None and not self.joined:
            self.joined = True  # the group join happens in a poll, as a real consumer's
            self.listener.on_assigned(frozenset(self.log))
        while self.answers:
            callback, offsets = self.answers.pop(0)
            callback(offsets, None)
        batch = {}
        for tp, records in self.log.items():
            start = self.positions[tp]
            if tp in self.paused or start >= len(records):
                continue
            batch[tp] = records[start : start + (max_records or len(records))]
            self.positions[tp] = start + len(batch[tp])
        return batch

    def pause(self, partitions: Collection[TopicPartition]) -> None:
        self.paused.update(partitions)

    def resume(self, partitions: Collection[TopicPartition]) -> None:
        self.paused.difference_update(partitions)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks.append((partition, offset))
        self.positions[partition] = offset

    def seek_to_beginning(self, partitions: Collection[TopicPartition]) -> None:
        for tp in partitions:
            self.positions[tp] = 0

    def seek_to_end(self, partitions: Collection[TopicPartition]) -> None:
        for tp in partitions:
            self.positions[tp] = len(self.log[tp])

    def position(self, partition: TopicPartition) -> int:
        return self.positions[partition]

    def highwater(self, partition: TopicPartition) -> int | None:
        return self.highwaters.get(partition)

    def committed(self, partition: TopicPartition) -> int | None:
        return self.committed_offsets.get(partition)

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))
        self.committed_offsets.update(offsets)

    def commit_async(self, offsets: Mapping[TopicPartition, int], callback: CommitCallback) -> None:
        """Committed at once; the callback runs in the next poll."""
        self.commit(offsets)
        self.answers.append((callback, dict(offsets)))

    def group_metadata(self) -> GroupMetadata:
        return GroupMetadata("g-fake", "meta")

    def beginning_offsets(
        self, partitions: Collection[TopicPartition]
    ) -> dict[TopicPartition, int]:
        return dict.fromkeys(partitions, 0)

    def end_offsets(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: len(self.log.get(tp, [])) for tp in partitions}

    def offsets_for_times(
        self, timestamps: Mapping[TopicPartition, int]
    ) -> dict[TopicPartition, int | None]:
        return dict.fromkeys(timestamps, 0)

    def close(self) -> None:
        self.closed = True


def _implements(producer: FakeProducer, future: FakeFuture, consumer: FakeConsumer) -> None:
    """Never called: mypy checks here that the fakes implement the protocols."""
    _p: Producer = producer
    _f: SendFuture = future
    _c: Consumer = consumer
