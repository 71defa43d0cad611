"""CommitTracker: offsets done but not yet confirmed, committed lazily and never lost."""

from __future__ import annotations

from collections.abc import Mapping

from client_fakes import FakeConsumer

from consumers.offsets import CommitTracker
from runtime.kafka import CommitCallback, TopicPartition

P0, P1 = TopicPartition("t", 0), TopicPartition("t", 1)


class Consumer(FakeConsumer):
    """Records commit_async calls; the test answers them by hand."""

    def __init__(self, owned: set[TopicPartition]) -> None:
        super().__init__({tp: [] for tp in owned})
        self.sent: list[tuple[dict[TopicPartition, int], CommitCallback]] = []
        self.synced: list[dict[TopicPartition, int]] = []

    def commit_async(self, offsets: Mapping[TopicPartition, int], callback: CommitCallback) -> None:
        self.sent.append((dict(offsets), callback))

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        self.synced.append(dict(offsets))

    def answer(self, index: int, error: BaseException | None) -> None:
        positions, callback = self.sent[index]
        callback(positions, error)


def test_a_position_is_sent_once_until_answered() -> None:
    """Advancing sends the new position; polling again without news sends nothing."""
    tracker, consumer = CommitTracker("unit"), Consumer({P0, P1})
    tracker.advance({P0: 5})
    tracker.commit_async(consumer)
    tracker.commit_async(consumer)
    assert ([{P0: 5}], False) == ([p for p, _ in consumer.sent], tracker.pending())


def test_a_failed_commit_is_sent_again() -> None:
    """When the broker refuses a commit, the same position goes out with the next one."""
    tracker, consumer = CommitTracker("unit"), Consumer({P0})
    tracker.advance({P0: 5})
    tracker.commit_async(consumer)
    consumer.answer(0, RuntimeError("coordinator moved"))
    pending = tracker.pending()
    tracker.commit_async(consumer)
    assert (True, [{P0: 5}, {P0: 5}]) == (pending, [p for p, _ in consumer.sent])


def test_a_confirmed_commit_leaves_nothing_to_do() -> None:
    """After the broker confirms, a final synchronous commit has nothing to send."""
    tracker, consumer = CommitTracker("unit"), Consumer({P0})
    tracker.advance({P0: 5})
    tracker.commit_async(consumer)
    consumer.answer(0, None)
    tracker.commit_sync(consumer)
    assert [] == consumer.synced


def test_an_older_answer_does_not_drop_a_newer_position() -> None:
    """The confirmation of offset 5 does not count for offset 9 advanced meanwhile."""
    tracker, consumer = CommitTracker("unit"), Consumer({P0})
    tracker.advance({P0: 5})
    tracker.commit_async(consumer)
    tracker.advance({P0: 9})
    consumer.answer(0, None)
    tracker.commit_sync(consumer)
    assert [{P0: 9}] == consumer.synced


def test_partitions_no_longer_owned_are_not_committed() -> None:
    """A partition handed to another consumer is dropped, not committed by this one."""
    tracker, consumer = CommitTracker("unit"), Consumer({P1})
    tracker.advance({P0: 5, P1: 7})
    tracker.commit_async(consumer)
    assert [{P1: 7}] == [p for p, _ in consumer.sent]


def test_hand_over_returns_what_is_left_of_revoked_partitions() -> None:
    """On revocation the listener gets the uncommitted offsets of exactly those partitions."""
    tracker = CommitTracker("unit")
    tracker.advance({P0: 5, P1: 7})
    left = tracker.hand_over([P0])
    assert ({P0: 5}, True) == (left, tracker.pending())
