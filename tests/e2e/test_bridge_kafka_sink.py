"""``hxbus bridge run --sink kafka`` (issue 6, part 3): each event lands once in the local
topic, read with ``isolation_level=read_committed``, and the group's offsets moved with it.

The runtime does not commit offsets itself with this sink: the sink sends them in its
transaction (``send_offsets_to_transaction``) together with the batch's records and their
audit records. The bridge runs as a subprocess on the real broker and is stopped with
SIGTERM once the local topic holds every event of the test (other traffic on the shared
topics keeps it busy).
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from e2e_bridge_support import finish, start_bridge
from e2e_topic_support import read_from, topic_ends
from kafka import TopicPartition

from bridge import bridge_topics
from bridge.runner import ensure_local_topic
from consumers.offsets import start_group_at_end
from producers import Publisher, SyntheticTraffic
from runtime import Settings, make_consumer, run_provisioning
from schemas import Agreement, ExchangeEvent

pytestmark = pytest.mark.broker

EVENTS = 20


def partner_alerts(agreement: Agreement) -> Iterator[ExchangeEvent]:
    """Fresh alerts of Jiangsu agencies shared with every partner: Henan receives each."""
    jiangsu = {a.id for a in agreement.agencies_of("JS")}
    traffic = SyntheticTraffic(agreement, seed=random.randrange(2**31), start=datetime.now(UTC))
    for event in traffic:
        if (
            event.event_type in ("PersonAlert", "VehicleAlert")
            and event.envelope.source in jiangsu
            and event.record["handling"] == "SHARE_ALL_PARTNERS"
        ):
            yield event


def committed_ids(settings: Settings, topic: str, ours: set[str]) -> list[str]:
    """ce_id of every committed record of ``topic`` that is one of ``ours``, repeats kept."""
    ids = (
        dict(r.headers).get("ce_id", b"").decode()
        for r in read_from(settings, dict.fromkeys(topic_ends(settings, topic), 0))
    )
    return [i for i in ids if i in ours]


def test_kafka_sink_delivers_each_event_once_with_the_offsets(
    settings: Settings,
    agreement: Agreement,
    unique_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    """Each event once in the local topic (read_committed); the offsets committed past it."""
    run_provisioning(settings, agreement)
    group = unique_name("g-ha-kafka")
    local = unique_name("local-ha")
    ensure_local_topic(settings, local)
    start_group_at_end(settings, group, bridge_topics(agreement, "HA"))
    alerts = partner_alerts(agreement)
    events = [next(alerts) for _ in range(EVENTS)]
    with Publisher(settings, agreement) as publisher:
        outcomes = list(publisher.publish_many(events))
    assert [] == [o.error for o in outcomes if not o.ok]
    ours = {e.envelope.message_id for e in events}

    bridge = start_bridge(
        settings, "HA", tmp_path / "ha", group, "--sink", "kafka", "--kafka-topic", local
    )
    deadline = time.monotonic() + 45
    while ours - set(committed_ids(settings, local, ours)) and time.monotonic() < deadline:
        time.sleep(0.5)
    bridge.process.send_signal(signal.SIGTERM)
    finish(bridge, timeout=30)

    assert sorted(ours) == sorted(committed_ids(settings, local, ours))
    assert {} == {i: n for i, n in Counter(committed_ids(settings, local, ours)).items() if n != 1}
    # The group's offsets were committed (by the sink's transactions) past every event.
    receipts = [r for o in outcomes for r in o.receipts]
    consumer = make_consumer(settings, group_id=group)
    try:
        committed = {
            (r.topic, r.partition): consumer.committed(TopicPartition(r.topic, r.partition))
            for r in receipts
        }
    finally:
        consumer.close()
    assert [] == [str(r) for r in receipts if (committed[(r.topic, r.partition)] or 0) <= r.offset]
