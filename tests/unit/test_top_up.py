"""consumers.top_up: the second, short poll after a busy batch, and how its records join."""

from __future__ import annotations

from typing import Any

import pytest
from client_fakes import record

from consumers.top_up import TopUp, join
from runtime.kafka import Record, TopicPartition
from schemas.errors import BrokerUnavailable, NotAuthorized

TP0 = TopicPartition("t", 0)
TP1 = TopicPartition("t", 1)


def recs(tp: TopicPartition, *offsets: int) -> list[Record]:
    return [record(tp.topic, tp.partition, o, None, b"v") for o in offsets]


class ScriptedConsumer:
    """Answers each poll with the next scripted batch (or raises it); notes the calls."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[float, int | None]] = []

    def poll(
        self, timeout_s: float, max_records: int | None = None
    ) -> dict[TopicPartition, list[Record]]:
        self.calls.append((timeout_s, max_records))
        answer = self.answers.pop(0) if self.answers else {}
        if isinstance(answer, BaseException):
            raise answer
        return dict(answer)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def offsets(polled: dict[TopicPartition, list[Record]]) -> dict[TopicPartition, list[int]]:
    return {tp: [r.offset for r in records] for tp, records in polled.items()}


def busy_top_up(consumer: ScriptedConsumer, max_records: int = 500) -> tuple[TopUp, Clock]:
    """A TopUp whose previous poll was 20 ms ago (the loop was busy since)."""
    clock = Clock()
    top_up = TopUp(max_records, wait_s=0.005, after_busy_s=0.005, clock=clock)
    top_up(consumer, {})  # a first, empty poll: no second poll, the time noted
    clock.now += 0.020
    return top_up, clock


def test_after_a_busy_batch_the_second_poll_joins_the_batch() -> None:
    """After 20 ms busy, a second poll (5 ms, what is left of max_records) is joined."""
    consumer = ScriptedConsumer({TP0: recs(TP0, 3, 4), TP1: recs(TP1, 7)})
    top_up, _ = busy_top_up(consumer, max_records=10)
    polled = top_up(consumer, {TP0: recs(TP0, 1, 2)})
    assert (offsets(polled), consumer.calls, top_up.found) == (
        {TP0: [1, 2, 3, 4], TP1: [7]},
        [(0.005, 8)],
        1,
    )


def test_no_second_poll_right_after_the_last_one() -> None:
    """A poll 1 ms after the one before (the loop was not busy): nothing more is asked."""
    consumer = ScriptedConsumer({TP0: recs(TP0, 3)})
    top_up, clock = busy_top_up(consumer)
    top_up(consumer, {TP0: recs(TP0, 1)})  # busy: second poll made, now noted again
    clock.now += 0.001
    polled = top_up(consumer, {TP0: recs(TP0, 4)})
    assert (offsets(polled), len(consumer.calls)) == ({TP0: [4]}, 1)


def test_a_full_poll_is_a_backlog_and_gets_no_second_poll() -> None:
    """A poll that returned max_records stays as it is: the next poll gets the rest."""
    consumer = ScriptedConsumer({TP0: recs(TP0, 3)})
    top_up, _ = busy_top_up(consumer, max_records=2)
    polled = top_up(consumer, {TP0: recs(TP0, 1, 2)})
    assert (offsets(polled), consumer.calls) == ({TP0: [1, 2]}, [])


def test_an_empty_poll_gets_no_second_poll() -> None:
    """A poll that waited and returned nothing is not followed by another at once."""
    consumer = ScriptedConsumer({TP0: recs(TP0, 3)})
    top_up, _ = busy_top_up(consumer)
    assert (top_up(consumer, {}), consumer.calls) == ({}, [])


def test_a_wait_of_zero_turns_it_off() -> None:
    """``wait_s=0``: never a second poll."""
    consumer = ScriptedConsumer({TP0: recs(TP0, 3)})
    clock = Clock()
    top_up = TopUp(500, wait_s=0.0, clock=clock)
    top_up(consumer, {})
    clock.now += 1.0
    polled = top_up(consumer, {TP0: recs(TP0, 1)})
    assert (offsets(polled), consumer.calls) == ({TP0: [1]}, [])


def test_a_retriable_broker_error_in_the_second_poll_keeps_the_first() -> None:
    """The second poll failing retriably leaves the batch as the first poll returned it."""
    consumer = ScriptedConsumer(BrokerUnavailable("broker away"))
    top_up, _ = busy_top_up(consumer)
    polled = top_up(consumer, {TP0: recs(TP0, 1)})
    assert offsets(polled) == {TP0: [1]}


def test_a_lasting_error_in_the_second_poll_is_raised() -> None:
    """A non-retriable error of the second poll reaches the loop, as the first poll's does."""
    consumer = ScriptedConsumer(NotAuthorized("refused"))
    top_up, _ = busy_top_up(consumer)
    with pytest.raises(NotAuthorized):
        top_up(consumer, {TP0: recs(TP0, 1)})


def test_join_leaves_out_offsets_already_held() -> None:
    """A partition reset by a rebalance repeats offsets: only those past the held ones join."""
    joined = join({TP0: recs(TP0, 5, 6, 7)}, {TP0: recs(TP0, 4, 5, 6, 7, 8, 9), TP1: recs(TP1, 0)})
    assert offsets(joined) == {TP0: [5, 6, 7, 8, 9], TP1: [0]}
