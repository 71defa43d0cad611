"""The Kafka sink's exactly-once promise on the real broker, with kafka-python 3.0.12.

kafka-python's transaction protocol predates KIP-890; these tests show what the sink relies
on still holds: records of a transaction killed before its commit never become visible to
read_committed readers, the restarted worker redoes the batch once, the offsets move only
with the commit, and a fenced predecessor cannot commit.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from topic_reading import end_offsets, partitions_of, read_records

from bridge.profiles.base import LocalMessage
from bridge.sinks import KafkaSink
from runtime import Settings, open_producer
from runtime.kafka import Admin, GroupMetadata, NewTopic, TopicPartition
from schemas import Envelope
from schemas.errors import BrokerError

pytestmark = pytest.mark.broker

WORKER = Path(__file__).with_name("txn_sink_worker.py")
PARTITIONS = 2


def create_topics(admin: Admin, *names: str) -> None:
    admin.create_topics([NewTopic(name, PARTITIONS, 1) for name in names])


def read_values(
    settings: Settings, topic: str, isolation_level: str, *, settled: bool = False
) -> list[bytes]:
    """The values of ``topic`` a reader with ``isolation_level`` sees now, sorted."""
    partitions = partitions_of(topic, PARTITIONS)
    records = read_records(settings, partitions, isolation_level, settled=settled)
    return sorted(record.value or b"" for record in records)


def committed_offsets(admin: Admin, group: str, topic: str) -> dict[TopicPartition, int]:
    """``group``'s committed offsets of ``topic`` (partitions it never committed left out)."""
    offsets = admin.committed_offsets(group, partitions_of(topic, PARTITIONS))
    return {tp: offset for tp, offset in offsets.items() if offset is not None}


def worker(settings: Settings, *args: str) -> list[str]:
    return [sys.executable, str(WORKER), settings.bootstrap, *args]


def test_killed_between_send_and_commit_shows_nothing_then_redo_commits_once(
    settings: Settings, admin: Admin, unique_name: Callable[..., str]
) -> None:
    """A worker killed before commit leaves no visible record; its restart delivers once."""
    source, local, group = unique_name("src"), unique_name("local"), unique_name("g")
    transactional_id = unique_name("txn")
    create_topics(admin, source, local)
    values = [f"alert-{n}".encode() for n in range(6)]
    producer = open_producer(settings)
    for value in values:
        producer.send(source, key=str(uuid.uuid4()).encode(), value=value)
    producer.flush()
    producer.close()
    args = [source, local, group, transactional_id, str(len(values))]

    doomed = subprocess.Popen(worker(settings, *args, "hold"), stdout=subprocess.PIPE, text=True)
    assert doomed.stdout is not None
    first_line = doomed.stdout.readline().strip()
    doomed.kill()  # SIGKILL: no abort, no close, the transaction stays open
    doomed.wait()
    doomed.stdout.close()
    assert f"SENT {len(values)}" == first_line
    assert [] == read_values(settings, local, "read_committed")
    # The records did reach the log: only the open transaction hides them.
    assert len(values) == len(read_values(settings, local, "read_uncommitted"))
    assert {} == committed_offsets(admin, group, source)

    redo = subprocess.run(
        worker(settings, *args, "commit"), capture_output=True, text=True, timeout=180, check=False
    )
    assert (0, [f"SENT {len(values)}", "COMMITTED"]) == (
        redo.returncode,
        redo.stdout.split("\n")[:2],
    )
    expected = sorted(b"local:" + value for value in values)
    assert expected == read_values(settings, local, "read_committed", settled=True)
    assert end_offsets(settings, partitions_of(source, PARTITIONS)) == committed_offsets(
        admin, group, source
    )


def test_a_fenced_predecessor_cannot_commit(
    settings: Settings, admin: Admin, unique_name: Callable[..., str]
) -> None:
    """A second sink with the same transactional id fences the first: only its batch shows."""
    source, local, group = unique_name("src"), unique_name("local"), unique_name("g")
    transactional_id = unique_name("txn")
    create_topics(admin, source, local)
    offsets = {TopicPartition(source, 0): 1}

    def message(text: str) -> tuple[LocalMessage, Envelope]:
        message_id = str(uuid.uuid4())
        return (
            LocalMessage(f"{message_id}.json", text.encode(), "application/json"),
            Envelope("PersonAlert", "320300000000", message_id),
        )

    zombie = KafkaSink(settings, local, transactional_id)
    zombie.deliver(*message("from the zombie"))
    zombie.flush()
    successor = KafkaSink(settings, local, transactional_id)  # init_transactions fences
    with pytest.raises(BrokerError) as caught:
        zombie.commit_offsets(offsets, GroupMetadata(group))
    successor.deliver(*message("from the successor"))
    successor.commit_offsets(offsets, GroupMetadata(group))
    zombie.close()
    successor.close()

    assert "transaction not committed" in str(caught.value)
    assert [b"from the successor"] == read_values(settings, local, "read_committed", settled=True)
    assert offsets == committed_offsets(admin, group, source)
