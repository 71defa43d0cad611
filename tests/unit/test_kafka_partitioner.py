"""runtime.kafka.partition_for_key: Java's default partitioner (murmur2), ours."""

from __future__ import annotations

import pytest
from kafka.partitioner.default import DefaultPartitioner
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from runtime.kafka import murmur2, partition_for_key

KEYS = [
    b"",
    b"a",
    b"ab",
    b"abc",
    b"abcd",
    b"abcde",
    b"JS-2026-000001",
    "警情".encode(),
    bytes(range(40)),
]


@pytest.mark.parametrize("key", KEYS)
def test_murmur2_equals_kafka_pythons(key: bytes) -> None:
    """Our murmur2 gives what kafka-python's default partitioner hashes with."""
    assert kafka_python_murmur2(key) & 0xFFFFFFFF == murmur2(key)


#: Apache Kafka's own test vectors (UtilsTest.testMurmur2), as signed Java ints.
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize(("key", "java"), JAVA_MURMUR2.items())
def test_murmur2_equals_javas(key: bytes, java: int) -> None:
    """Our murmur2 gives the Java client's value (as an unsigned 32-bit int)."""
    assert java & 0xFFFFFFFF == murmur2(key)


def test_a_key_goes_where_java_puts_it() -> None:
    """Java: toPositive(murmur2("21")) % 3 = (-973932308 & 0x7fffffff) % 3 = 0."""
    assert 0 == partition_for_key(b"21", [0, 1, 2])


def test_partition_numbers_are_taken_in_order() -> None:
    """The partitions are counted in numeric order, whatever order they are given in."""
    expected = partition_for_key(b"alert-7", [0, 1, 2, 3])
    assert expected == partition_for_key(b"alert-7", [3, 1, 0, 2])


class _Cluster:
    """What kafka-python's DefaultPartitioner reads of the cluster metadata."""

    def __init__(self, partitions: frozenset[int]) -> None:
        self._partitions = partitions

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(self._partitions)

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return set(self._partitions)


@pytest.mark.parametrize(
    "partitions",
    [frozenset(range(3)), frozenset(range(6)), frozenset({0, 1, 2, 5, 9})],
    ids=["3", "6", "gaps"],
)
def test_partition_for_key_is_kafka_pythons_default_partitioners_choice(
    partitions: frozenset[int],
) -> None:
    """For keyed records, partition_for_key picks what kafka-python's DefaultPartitioner
    picks (the audit writer passes it explicitly: bridge.audit_writer)."""
    keys = [*KEYS, *(f"0b9e5d1e-8a53-4c1e-b0f4-{i:012d}".encode() for i in range(60))]
    cluster = _Cluster(partitions)
    default = DefaultPartitioner()
    assert [default.partition("t", k, k, None, None, cluster) for k in keys] == [
        partition_for_key(k, partitions) for k in keys
    ]
