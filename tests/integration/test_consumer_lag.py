"""Consumer lag read from the real broker: end offset minus the group's committed offset,
per partition, published as hx_consumer_lag_messages while a consumer runs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from consumer_support import FileSink, create_topic, encode, make_events, produce
from prometheus_client import REGISTRY

from consumers import (
    Checks,
    ConsumerRuntime,
    DeadLetterQueue,
    DedupeStore,
    LagMonitor,
    Polling,
    Settlement,
    Subscription,
    read_lag,
)
from runtime import Settings, open_admin, open_consumer
from runtime.kafka import Admin, ConsumerOptions, TopicPartition
from runtime.metrics_server import start_metrics_server
from schemas import Agreement, Codec

pytestmark = pytest.mark.broker


@pytest.fixture
def topic(settings: Settings, admin: Admin, unique_name: Callable[..., str]) -> Iterator[str]:
    """A fresh 2-partition topic holding 5 messages in each partition."""
    name = unique_name()
    create_topic(settings, admin, name, 2)
    for partition in (0, 1):
        produce(settings, name, [(None, b"x", [])] * 5, partition=partition)
    yield name
    admin.delete_topics([t for t in admin.list_topics() if t == name or t.endswith(name[2:])])


def _commit(settings: Settings, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = open_consumer(settings, ConsumerOptions(group_id=group))
    try:
        consumer.commit(offsets)
    finally:
        consumer.close()


def _lag(role: str, partition: int) -> float | None:
    labels = {"role": role, "topic_kind": "other", "partition": str(partition)}
    return REGISTRY.get_sample_value("hx_consumer_lag_messages", labels)


def _wait_for(condition: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_lag_is_end_minus_committed_and_everything_for_a_new_group(
    settings: Settings, topic: str, unique_name: Callable[..., str]
) -> None:
    """Group committed 3 of partition 0 and nothing of 1: lag 2 and 5."""
    group = unique_name("g")
    _commit(settings, group, {TopicPartition(topic, 0): 3})
    admin = open_admin(settings)
    consumer = open_consumer(settings)
    try:
        lag = read_lag(admin, consumer, group, [topic])
    finally:
        consumer.close()
        admin.close()
    assert {TopicPartition(topic, 0): 2, TopicPartition(topic, 1): 5} == lag


def test_monitor_follows_the_group_as_it_commits(
    settings: Settings, topic: str, unique_name: Callable[..., str]
) -> None:
    """The gauge shows 5 + 5 behind, then 0 + 1 once the group commits further."""
    group, role = unique_name("g"), unique_name("role")
    monitor = LagMonitor(settings, group, [topic], role, every_s=0.2).start()
    try:
        first = _wait_for(lambda: (_lag(role, 0), _lag(role, 1)) == (5.0, 5.0))
        _commit(settings, group, {TopicPartition(topic, 0): 5, TopicPartition(topic, 1): 4})
        second = _wait_for(lambda: (_lag(role, 0), _lag(role, 1)) == (0.0, 1.0))
    finally:
        monitor.stop()
    assert (True, True) == (first, second)


@pytest.mark.parametrize("how", ["lag_every_s", "metrics_served"])
def test_runtime_reads_its_lag_while_it_runs(
    how: str,
    settings: Settings,
    admin: Admin,
    unique_name: Callable[..., str],
    agreement: Agreement,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ConsumerRuntime publishes its lag (0 once caught up) when asked to, or by itself
    while the process serves /metrics; it does not when neither."""
    name, role = unique_name(), unique_name("role")
    group = f"g-{name[2:]}"
    create_topic(settings, admin, name, 1)
    codec = Codec()
    produce(settings, name, [encode(codec, e) for e in make_events(agreement, 20)])
    sink = FileSink(tmp_path / "sink")
    store = DedupeStore.for_group(settings.state_dir, group)
    dlq = DeadLetterQueue(settings, group, replication=1, min_insync_replicas=1)
    options: dict[str, Any] = {}
    server = None
    if how == "lag_every_s":
        options["lag_every_s"] = 0.2
    else:
        monkeypatch.setattr("consumers.loop.DEFAULT_LAG_EVERY_S", 0.2)
        server = start_metrics_server(0)
    runtime = ConsumerRuntime(
        settings,
        Subscription(group, [name], role=role),
        sink,
        Checks(codec, store),
        Settlement(dlq),
        Polling(**options),
    )
    try:
        stats = runtime.run(idle_timeout=3.0)
    finally:
        if server is not None:
            server.stop()
        store.close()
        dlq.close()
        sink.close()
        admin.delete_topics([name])
    assert (20, 0.0) == (stats.handled, _lag(role, 0))


def test_runtime_reads_no_lag_when_nobody_scrapes(
    settings: Settings, topic: str, unique_name: Callable[..., str], tmp_path: Path
) -> None:
    """No /metrics served, no lag_every_s: no broker look-ups, no lag series."""
    group, role = unique_name("g"), unique_name("role")
    store = DedupeStore.for_group(settings.state_dir, group)
    dlq = DeadLetterQueue(settings, group, replication=1, min_insync_replicas=1)
    sink = FileSink(tmp_path / "sink")
    runtime = ConsumerRuntime(
        settings,
        Subscription(group, [topic], role=role),
        sink,
        Checks(Codec(), store),
        Settlement(dlq),
    )
    try:
        runtime.run(idle_timeout=1.0)
    finally:
        store.close()
        dlq.close()
        sink.close()
    assert (None, None) == (_lag(role, 0), _lag(role, 1))
