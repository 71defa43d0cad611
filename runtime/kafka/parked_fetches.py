"""Resuming a paused partition in kafka-python 3.0.12 without it staying stuck for good.

When a fetch response for a partition arrives while the runtime has it paused (a retry's
backoff), kafka-python parks the parsed records (``Fetcher._paused_partition_records``,
KAFKA-7548) and, while they are parked, never fetches that partition again. It puts them
back only when its in-line slot ``_next_partition_records`` is ``None``; but a drained
in-line batch stays in that slot as an empty, falsy object, not ``None``, so after the
first batch the parked records are never put back: the resumed partition is fetched
never again, its retry never happens, and an idle watch waits for ever (seen in
tests/e2e/test_four_bridges.py: a bridge's inbox partition stuck at the offset of its
first ``alert_unknown`` retry, the alerts behind it unread, later hits dead-lettered).

The runtime always seeks a partition back to its first offset not done before pausing
it (``ConsumerRuntime._pause_at``), so what was parked is a stale read-ahead: dropping it
on resume loses nothing, and the partition is fetched again from that offset.
``KafkaPythonConsumer.resume`` does it after every resume.

Private: ``KafkaConsumer._fetcher._paused_partition_records`` and the parked records'
``drain()``, checked on kafka-python 3.0.12; tests/unit/test_kafka_private_parts.py
fails the day either disappears.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def drop_parked_records(consumer: Any, partitions: Iterable[Any]) -> int:
    """Drop the records ``consumer`` (a ``KafkaConsumer``) parked for ``partitions`` (kafka
    ``TopicPartition``s, just resumed); how many partitions had some."""
    parked: dict[Any, Any] = consumer._fetcher._paused_partition_records
    dropped = 0
    for tp in partitions:
        records = parked.pop(tp, None)
        if records is None:
            continue
        records.drain()
        dropped += 1
    return dropped
