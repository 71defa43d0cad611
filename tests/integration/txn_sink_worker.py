"""A minimal consume -> KafkaSink -> commit loop, run as its own process by the tests.

``python txn_sink_worker.py BOOTSTRAP SOURCE LOCAL GROUP TXN_ID EXPECTED MODE``: consume
EXPECTED records of SOURCE as group GROUP (read_committed), deliver each to LOCAL through a
``KafkaSink`` with transactional id TXN_ID, flush, print ``SENT <n>``; then with MODE
``commit`` commit the transaction with the offsets and print ``COMMITTED``, with MODE
``hold`` wait to be killed (the crash between send and commit).

It stands in for the bridge runner until the consumer runtime lets a sink own the commit.
"""

from __future__ import annotations

import sys
import time

from bridge.profiles.base import LocalMessage
from bridge.sinks import KafkaSink
from runtime import Settings, open_consumer
from runtime.kafka import ConsumerOptions, Record, TopicPartition
from schemas import Envelope

#: Short, so a restarted worker joins without waiting 45 s for its killed predecessor.
SESSION_TIMEOUT_MS = 6000
LOCAL_PREFIX = b"local:"


def local_bytes(value: bytes) -> bytes:
    """What the 'translation' of this test makes of a source value."""
    return LOCAL_PREFIX + value


def main(argv: list[str]) -> int:
    bootstrap, source, local, group, transactional_id, expected_text, mode = argv
    expected = int(expected_text)
    settings = Settings(bootstrap=bootstrap)
    sink = KafkaSink(settings, local, transactional_id)
    consumer = open_consumer(
        settings,
        ConsumerOptions(
            group_id=group, session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=1000
        ),
    )
    consumer.subscribe([source])
    records: list[Record] = []
    deadline = time.monotonic() + 90
    while len(records) < expected and time.monotonic() < deadline:
        for batch in consumer.poll(0.5).values():
            records.extend(batch)
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        assert record.key is not None
        assert record.value is not None
        message_id = record.key.decode()
        sink.deliver(
            LocalMessage(f"{message_id}.json", local_bytes(record.value), "application/json"),
            Envelope("PersonAlert", "320300000000", message_id),
            key=record.key,
        )
        tp = TopicPartition(record.topic, record.partition)
        offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
    sink.flush()
    print("SENT", len(records), flush=True)
    if mode == "hold":
        time.sleep(600)  # the test kills this process here, between send and commit
        return 1
    sink.commit_offsets(offsets, consumer.group_metadata())
    print("COMMITTED", flush=True)
    consumer.close()
    sink.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
