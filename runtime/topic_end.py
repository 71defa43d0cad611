"""Reading a topic to its end: every record from given offsets up to the end offsets as
they are when the read starts, without a consumer group (listing is not consuming).

Used by every reader that wants "what the topic holds now": the alert register's load,
an issuer's own copies, the lookup index, the dead letters, the audit trail, the drill's
check. The end is taken once, at the start: records appended meanwhile are left for the
next read, so a busy topic cannot keep a reader from finishing. For a ``read_committed``
consumer (every hxbus consumer) the end is the last stable offset: records of an open or
aborted transaction are never waited for, and a partition whose last records are
transaction markers still reaches its end (its position moves past them).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping

from runtime.kafka import Consumer, Record, TopicPartition
from schemas.errors import BrokerUnavailable

#: How long a read may go without a record before the broker counts as away (seconds).
STALL_S = 60.0

#: Records asked for per poll. The client decodes a poll's records at once, and each one
#: carries a dozen header objects: 5,000 of them held ~24 MB of Python objects at once (a
#: register load's peak, issue 17), 500 hold ~3 MB; a poll's own cost is small against
#: the 40-200 us each record costs to parse and read, and the loads measured as fast.
MAX_RECORDS = 500


def partitions_of(consumer: Consumer, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of ``topics``, in order (a topic the broker lacks has none)."""
    return [
        TopicPartition(topic, p)
        for topic in topics
        for p in sorted(consumer.partitions_for_topic(topic))
    ]


def beginnings(consumer: Consumer, topics: Iterable[str]) -> dict[TopicPartition, int]:
    """The first offset of every partition of ``topics``: the start of a whole read."""
    partitions = partitions_of(consumer, topics)
    return consumer.beginning_offsets(partitions) if partitions else {}


def read_to_end(
    consumer: Consumer,
    starts: Mapping[TopicPartition, int],
    *,
    what: str = "read to the end offsets",
    stall_s: float = STALL_S,
    ends: Mapping[TopicPartition, int] | None = None,
) -> Iterator[Record]:
    """Every record from ``starts`` up to the end offsets as they are now (or ``ends``,
    taken by the caller who wants to know where the read stops), in offset order per
    partition; ``consumer`` (without a group) is assigned to the partitions and left
    unassigned once the read is over. ``BrokerUnavailable`` (naming ``what``) when no
    record arrives for ``stall_s`` seconds while a partition is short of its end."""
    if not starts:
        return
    if ends is None:
        ends = consumer.end_offsets(list(starts))
    remaining = {tp for tp in starts if starts[tp] < ends[tp]}
    if not remaining:
        return
    consumer.assign(sorted(remaining))
    for tp in remaining:
        consumer.seek(tp, starts[tp])
    deadline = time.monotonic() + stall_s
    while remaining:
        polled = consumer.poll(0.5, MAX_RECORDS)
        for tp, records in polled.items():
            for record in records:
                if record.offset < ends[tp]:
                    yield record
        for tp in list(remaining):
            if consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)
                consumer.pause([tp])
        if polled:
            deadline = time.monotonic() + stall_s
        elif time.monotonic() > deadline:
            raise BrokerUnavailable(
                f"{what}: {len(remaining)} partitions did not arrive within {stall_s:g} s"
            )
    consumer.unsubscribe()
