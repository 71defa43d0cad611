"""The console's dead-letter desk on the real broker: per-group counts and reasons with
personal data masked, and a replay that is done once and audited every time."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from consumer_support import create_topic

from consumers import DeadLetterQueue
from consumers.dlq import Origin
from hxbus.console import DeadLetterDesk, read_audit
from runtime import Settings, open_consumer
from runtime.kafka import Admin, TopicPartition
from schemas.errors import ConfigError, SinkRejected

pytestmark = pytest.mark.broker

ID_NUMBER = "320311198001011234"


@pytest.fixture
def dead_lettered(
    settings: Settings, admin: Admin, unique_name: Callable[..., str]
) -> Iterator[tuple[str, str]]:
    """A topic and a group whose DLQ holds two entries (one naming an identity number)."""
    topic, group = unique_name(), unique_name("g")
    create_topic(settings, admin, topic, 1)
    dlq = DeadLetterQueue(settings, group, replication=1, min_insync_replicas=1)
    try:
        for offset, text in enumerate((f"subject.id_number {ID_NUMBER}: bad", "plate: bad")):
            dlq.send(
                Origin(topic, 0, offset),
                key=b"k",
                value=f"value-{offset}".encode(),
                headers=[("ce_id", f"m-{offset}".encode())],
                error=SinkRejected(text),
                reason="sink_rejected",
            )
        assert set() == dlq.flush()
    finally:
        dlq.close()
    yield topic, group
    admin.delete_topics([topic, f"hx.dlq.{group}"])


def _values(settings: Settings, topic: str) -> list[bytes | None]:
    consumer = open_consumer(settings)
    try:
        consumer.assign(TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic))
        records = consumer.poll(10.0)
        return [r.value for batch in records.values() for r in batch]
    finally:
        consumer.close()


def test_desk_counts_reasons_and_masks_identity_numbers(
    settings: Settings, dead_lettered: tuple[str, str]
) -> None:
    """Two entries of one reason, newest first; the identity number is masked."""
    _, group = dead_lettered
    desk = DeadLetterDesk(settings, [group])

    desk.refresh()

    summary = desk.summary()[group]
    assert (2, {"sink_rejected": 2}) == (summary["count"], summary["reasons"])
    assert ["1", "0"] == [entry["entry"] for entry in summary["entries"]]
    assert ID_NUMBER not in str(summary)
    assert "320311************" in summary["entries"][1]["message"]


def test_replay_is_done_once_and_every_attempt_is_audited(
    settings: Settings, dead_lettered: tuple[str, str]
) -> None:
    """The first replay re-publishes the entry; the second is skipped; both are in the
    audit file with the operator's name; a group the console does not watch is refused."""
    topic, group = dead_lettered
    desk = DeadLetterDesk(settings, [group])

    first = desk.replay("operator", group, "0")
    second = desk.replay("operator", group, "0")
    with pytest.raises(ConfigError, match="group"):
        desk.replay("operator", "not-watched", "0")

    assert ("replayed", "skipped") == (first["status"], second["status"])
    assert [b"value-0"] == _values(settings, topic)
    audit = read_audit(settings.state_dir)
    assert [("operator", group, "0", "replayed"), ("operator", group, "0", "skipped")] == [
        (a["operator"], a["group"], a["entry"], a["status"]) for a in audit
    ]
