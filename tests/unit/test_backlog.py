"""consumers.backlog: a worker has read its backlog only once every partition it holds was
read up to the end its last fetch saw; time alone never says so."""

from __future__ import annotations

from client_fakes import FakeConsumer

from consumers.backlog import Backlog
from runtime.kafka import TopicPartition

A = TopicPartition("hx.inbox.320300000000", 0)
B = TopicPartition("hx.inbox.320300000000", 1)


def consumer(
    positions: dict[TopicPartition, int], highwaters: dict[TopicPartition, int]
) -> FakeConsumer:
    fake = FakeConsumer({tp: [] for tp in positions}, highwaters=highwaters)
    fake.positions.update(positions)
    return fake


def test_read_only_when_every_partition_reached_its_high_watermark() -> None:
    """One partition at its end and one behind is not read; both at their ends is."""
    backlog = Backlog()
    behind = consumer({A: 5, B: 2}, {A: 5, B: 3})
    backlog.check(behind, frozenset({A, B}))
    first = backlog.read()
    behind.positions[B] = 3
    backlog.check(behind, frozenset({A, B}))
    assert (False, True) == (first, backlog.read())


def test_a_partition_no_fetch_has_told_the_end_of_is_behind() -> None:
    """No high watermark known yet (the group has joined, nothing fetched): not read."""
    backlog = Backlog()
    backlog.check(consumer({A: 0}, {}), frozenset({A}))
    assert False is backlog.read()


def test_no_partitions_held_is_not_read() -> None:
    """A worker that holds nothing (before its join) has read nothing."""
    backlog = Backlog()
    backlog.check(consumer({}, {}), frozenset())
    assert False is backlog.read()


def test_read_holds_for_new_traffic_until_the_partitions_change() -> None:
    """Once read, live traffic behind the position keeps it read; a rebalance that hands
    over another partition asks again."""
    backlog = Backlog()
    fake = consumer({A: 5, B: 0}, {A: 5, B: 4})
    backlog.check(fake, frozenset({A}))
    fake.highwaters[A] = 9  # new traffic on a partition read before
    backlog.check(fake, frozenset({A}))
    still = backlog.read()
    backlog.check(fake, frozenset({A, B}))
    assert (True, False) == (still, backlog.read())
