"""The partition of a keyed record, as Java's default partitioner picks it (murmur2).

Both transports must put a key where every other Kafka client would: kafka-python's
default partitioner does this already; librdkafka's default (``consistent_random``,
CRC32) does not, so the librdkafka transport sets ``partitioner=murmur2_random``. The
audit trail reads only the partition of an alert's key (``bridge.audit_reader``), so the
reader and the writers must agree: this one function is that agreement. Ours, not
kafka-python's ``kafka.partitioner.default.murmur2``, so no reader depends on a client.
"""

from __future__ import annotations

from collections.abc import Sequence

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2`` of ``data`` as an unsigned 32-bit int."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & ~3
    extra = length % 4
    if extra >= 3:
        h ^= data[tail + 2] << 16
    if extra >= 2:
        h ^= data[tail + 1] << 8
    if extra >= 1:
        h ^= data[tail]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def partition_for_key(key: bytes, partitions: Sequence[int]) -> int:
    """The partition (one of ``partitions``, the topic's numbers) a record keyed ``key``
    goes to: ``(murmur2(key) & 0x7fffffff) % count``, as Java's default partitioner."""
    ordered = sorted(partitions)
    return ordered[(murmur2(key) & 0x7FFFFFFF) % len(ordered)]
