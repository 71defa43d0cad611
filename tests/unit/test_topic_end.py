"""runtime.topic_end: a read to the end returns what the topic held when it started, from
the given offsets, and says so when the broker stops answering."""

from __future__ import annotations

import pytest
from client_fakes import FakeConsumer, record

from runtime.kafka import Record, TopicPartition
from runtime.topic_end import beginnings, partitions_of, read_to_end
from schemas.errors import BrokerUnavailable

A0 = TopicPartition("t.a", 0)
A1 = TopicPartition("t.a", 1)


def numbered(tp: TopicPartition, count: int) -> list[Record]:
    return [record(tp.topic, tp.partition, n, None, str(n).encode()) for n in range(count)]


class GrowingConsumer(FakeConsumer):
    """A topic others keep writing to: each poll appends one record to every partition."""

    def poll(
        self, timeout_s: float, max_records: int | None = None
    ) -> dict[TopicPartition, list[Record]]:
        for tp, records in self.log.items():
            records.append(record(tp.topic, tp.partition, len(records), None, b"later"))
        return super().poll(timeout_s, 1)


class SilentConsumer(FakeConsumer):
    """A broker gone away: polls return nothing."""

    def poll(
        self, timeout_s: float, max_records: int | None = None
    ) -> dict[TopicPartition, list[Record]]:
        return {}


def test_reads_from_the_starts_to_the_ends_taken_at_the_start() -> None:
    """From offset 1 of t.a/0 and 0 of t.a/1, up to 3 and 2: records written meanwhile are
    left for the next read."""
    consumer = GrowingConsumer({A0: numbered(A0, 3), A1: numbered(A1, 2)})
    read = [(r.partition, r.offset) for r in read_to_end(consumer, {A0: 1, A1: 0})]
    expected = [(0, 1), (0, 2), (1, 0), (1, 1)]
    assert expected == sorted(read)


def test_partitions_and_beginnings_of_topics() -> None:
    """Every partition of the topics named, a missing topic none, each starting at 0."""
    consumer = FakeConsumer({A0: [], A1: []})
    expected = ([A0, A1], {A0: 0, A1: 0})
    assert expected == (
        partitions_of(consumer, ["t.a", "t.missing"]),
        beginnings(consumer, ["t.a"]),
    )


def test_nothing_to_read_returns_at_once() -> None:
    """Starts already at the end: no poll, nothing returned."""
    consumer = SilentConsumer({A0: numbered(A0, 2)})
    assert [] == list(read_to_end(consumer, {A0: 2}))


def test_a_silent_broker_is_unavailable_naming_the_read() -> None:
    """No record for stall_s while a partition is short of its end: BrokerUnavailable."""
    consumer = SilentConsumer({A0: numbered(A0, 2)})
    with pytest.raises(BrokerUnavailable) as caught:
        list(read_to_end(consumer, {A0: 0}, what="read t.a", stall_s=0.0))
    expected = "read t.a: 1 partitions did not arrive within 0 s"
    assert expected == str(caught.value)
