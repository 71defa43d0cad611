"""Records kafka-python parked for a paused partition are dropped when it is resumed."""

from __future__ import annotations

from types import SimpleNamespace

from kafka import TopicPartition

from runtime.kafka.parked_fetches import drop_parked_records


class _Parked:
    def __init__(self) -> None:
        self.drained = False

    def drain(self) -> None:
        self.drained = True


def test_resumed_partitions_parked_records_are_dropped_and_drained() -> None:
    """Only the resumed partitions' parked records go (drained); a still paused one keeps its."""
    resumed, paused = TopicPartition("hx.inbox.a", 0), TopicPartition("hx.inbox.a", 1)
    gone, kept = _Parked(), _Parked()
    parked = {resumed: gone, paused: kept}
    consumer = SimpleNamespace(_fetcher=SimpleNamespace(_paused_partition_records=parked))

    assert 1 == drop_parked_records(consumer, [resumed])
    assert {paused: kept} == parked
    assert (True, False) == (gone.drained, kept.drained)


def test_a_consumer_without_parked_records_is_left_alone() -> None:
    """A consumer with no such fetcher state (a test double, another version): nothing."""
    assert 0 == drop_parked_records(SimpleNamespace(), [TopicPartition("hx.inbox.a", 0)])
