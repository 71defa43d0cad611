"""``hxbus bridge run --sink kafka`` (issue 6, part 3): each event lands once in the local
topic, read with ``isolation_level=read_committed``, and the group's offsets moved with it.

The runtime does not commit offsets itself with this sink: the sink sends them in its
transaction (``send_offsets_to_transaction``) together with the batch's records and their
audit records. The bridge runs as a subprocess on the real broker and is stopped with
SIGTERM once the local topic holds every event of the test (other traffic on the shared
topics keeps it busy).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e_bridge_support import prepare_groups, publish_all, shared_alerts, start_bridge, stop_when
from topic_reading import read_records, topic_ends

from bridge.runner import ensure_local_topic
from runtime import Settings, open_consumer
from runtime.kafka import ConsumerOptions, TopicPartition
from schemas import Agreement

pytestmark = pytest.mark.broker

EVENTS = 20


def committed_ids(settings: Settings, topic: str, ours: set[str]) -> list[str]:
    """ce_id of every committed record of ``topic`` that is one of ``ours``, repeats kept."""
    ids = (
        dict(r.headers).get("ce_id", b"").decode()
        for r in read_records(settings, dict.fromkeys(topic_ends(settings, topic), 0))
    )
    return [i for i in ids if i in ours]


def test_kafka_sink_delivers_each_event_once_with_the_offsets(
    settings: Settings,
    agreement: Agreement,
    unique_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    """Each event once in the local topic (read_committed); the offsets committed past it."""
    group = unique_name("g-ha-kafka")
    local = unique_name("local-ha")
    prepare_groups(settings, agreement, {"HA": group})
    ensure_local_topic(settings, local)
    alerts = shared_alerts(agreement, "JS")  # Jiangsu's, so Henan receives each
    events = [next(alerts) for _ in range(EVENTS)]
    outcomes = publish_all(settings, agreement, events)
    ours = {e.envelope.message_id for e in events}

    bridge = start_bridge(
        settings, "HA", tmp_path / "ha", group, "--sink", "kafka", "--kafka-topic", local
    )
    stop_when(lambda: not ours - set(committed_ids(settings, local, ours)), [bridge], every_s=0.5)

    assert sorted(ours) == sorted(committed_ids(settings, local, ours))
    assert {} == {i: n for i, n in Counter(committed_ids(settings, local, ours)).items() if n != 1}
    # The group's offsets were committed (by the sink's transactions) past every event.
    receipts = [r for o in outcomes for r in o.receipts]
    consumer = open_consumer(settings, ConsumerOptions(group_id=group))
    try:
        committed = {
            (r.topic, r.partition): consumer.committed(TopicPartition(r.topic, r.partition))
            for r in receipts
        }
    finally:
        consumer.close()
    assert [] == [str(r) for r in receipts if (committed[(r.topic, r.partition)] or 0) <= r.offset]
