"""Where an assigned consumer starts reading, on both transports: the readers of hxbus
(the register load, the lookup client, the console, replays) assign partitions and seek
before their first poll, and take the end with ``seek_to_end`` + ``position``.

On librdkafka these once read from the beginning as well (its fetch starts at ``assign``,
racing the seek), some records twice, and a reply written right after ``position`` took
the end was missed; the transport now hands the assignment over at the first poll.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import pytest
from consumer_support import create_topic, produce

from runtime import Settings, open_consumer
from runtime.kafka import Admin, Consumer, ConsumerOptions, TopicPartition
from schemas.errors import BrokerError

pytestmark = pytest.mark.broker

TRANSPORTS = ["kafka-python", "librdkafka"]


def _read_until(consumer: Consumer, count: int, seconds: float = 30) -> list[tuple[int, int]]:
    """(partition, offset) of what ``poll`` returns until ``count`` came, plus 1 s more."""
    got: list[tuple[int, int]] = []
    deadline = time.monotonic() + seconds
    settle: float | None = None
    while time.monotonic() < (settle or deadline):
        for tp, records in consumer.poll(0.2).items():
            got += [(tp.partition, r.offset) for r in records]
        if settle is None and len(got) >= count:
            settle = time.monotonic() + 1.0  # anything more (a duplicate) arrives in here
    return got


@pytest.mark.parametrize("client", TRANSPORTS)
def test_seek_after_assign_reads_from_the_sought_offsets_once(
    client: str, settings: Settings, admin: Admin, unique_name: Callable[..., str]
) -> None:
    """Assign three partitions of ten records each, seek each to offset 7 before the first
    poll: exactly offsets 7, 8, 9 of each come, each once."""
    on = settings.model_copy(update={"kafka_client": client})
    topic = unique_name()
    create_topic(on, admin, topic, 3)
    for partition in range(3):
        produce(on, topic, [(b"k", b"v", [])] * 10, partition=partition)
    consumer = open_consumer(on)
    try:
        partitions = [TopicPartition(topic, p) for p in range(3)]
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, 7)
        got = _read_until(consumer, 9)
        positions = [consumer.position(tp) for tp in partitions]
    finally:
        consumer.close()
        admin.delete_topics([topic])
    expected = Counter((p, o) for p in range(3) for o in (7, 8, 9))
    assert (expected, [10, 10, 10]) == (Counter(got), positions)


@pytest.mark.parametrize("client", TRANSPORTS)
def test_position_after_seek_to_end_keeps_that_end(
    client: str, settings: Settings, admin: Admin, unique_name: Callable[..., str]
) -> None:
    """``seek_to_end`` then ``position`` (the lookup client's way to say "replies from
    now on"): a record written after that, before the first poll, is read."""
    on = settings.model_copy(update={"kafka_client": client})
    topic = unique_name()
    create_topic(on, admin, topic, 1)
    produce(on, topic, [(b"k", b"old", [])] * 4)
    consumer = open_consumer(on)
    tp = TopicPartition(topic, 0)
    try:
        consumer.assign([tp])
        consumer.seek_to_end([tp])
        end = consumer.position(tp)
        produce(on, topic, [(b"k", b"new", [])])
        got = _read_until(consumer, 1)
    finally:
        consumer.close()
        admin.delete_topics([topic])
    assert (4, [(0, 4)]) == (end, got)


@pytest.mark.parametrize("client", TRANSPORTS)
def test_group_member_position_before_reading_is_committed_or_earliest(
    client: str, settings: Settings, admin: Admin, unique_name: Callable[..., str]
) -> None:
    """A member holding a partition it has read nothing of yet (the loop asks every held
    partition after each poll): its position is the group's committed offset, or the
    earliest where nothing is committed, each time it is asked."""
    on = settings.model_copy(update={"kafka_client": client})
    topic, group = unique_name(), unique_name("g")
    create_topic(on, admin, topic, 2)
    produce(on, topic, [(b"k", b"v", [])] * 5, partition=0)
    committed, empty = TopicPartition(topic, 0), TopicPartition(topic, 1)
    first = open_consumer(on, ConsumerOptions(group_id=group))
    try:  # the group's offset, committed without joining it
        first.commit({committed: 5})
    finally:
        first.close()
    member = open_consumer(on, ConsumerOptions(group_id=group))
    try:
        member.subscribe([topic])
        deadline = time.monotonic() + 30
        seen: tuple[list[tuple[int, int]], tuple[int | None, int | None]] | None = None
        # Until both partitions are held and a fetch told each one's end: nothing is there
        # to read, so no record sets a position.
        while seen is None and time.monotonic() < deadline:
            member.poll(0.2)
            if member.assignment() != {committed, empty}:
                continue
            told = (member.highwater(committed), member.highwater(empty))
            if None in told:
                continue
            try:  # kafka-python's IO thread may still move the partitions (a rejoin)
                asked = [(member.position(committed), member.position(empty)) for _ in range(3)]
            except BrokerError:
                continue
            seen = (asked, told)
    finally:
        member.close()
        admin.delete_topics([topic])
    assert ([(5, 0)] * 3, (5, 0)) == seen
