"""The consumer runtime on the real broker: poison, retries, crashes, exactly once in the sink."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from consumer_support import (
    FileSink,
    FlakySink,
    Raw,
    encode,
    expired_alert,
    fresh_topic,
    interleave,
    journal,
    make_events,
    message_files,
    poison_random_bytes,
    poison_unknown_fingerprint,
    poison_without_headers,
    poison_wrong_type,
    produce,
    rejected_hit,
    runtime_for,
)

from consumers import (
    RetryPolicy,
    RunStats,
    read_dead_letters,
)
from runtime import Settings
from runtime.kafka import Admin
from schemas import Agreement, Codec

pytestmark = pytest.mark.broker
WORKER = Path(__file__).resolve().parent / "consumer_worker.py"


@pytest.fixture
def topic(settings: Settings, admin: Admin, unique_name: Callable[..., str]) -> Iterator[str]:
    """A fresh 3-partition topic, deleted (with the DLQs of this test) afterwards."""
    with fresh_topic(settings, admin, unique_name(), 3) as name:
        yield name


@pytest.fixture
def group(topic: str) -> str:
    """A consumer group named after the topic (so its DLQ is cleaned up with it)."""
    return f"g-{topic[2:]}"


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


def test_poison_mixed_into_5000_events_never_blocks_and_good_events_land_once(
    settings: Settings, topic: str, group: str, agreement: Agreement, codec: Codec, tmp_path: Path
) -> None:
    """5,000 good events land once each; every poison record is in the DLQ with its reason."""
    events = make_events(agreement, 5000)
    spare = make_events(agreement, 30, seed=99)
    rng = random.Random(5)
    good = [encode(codec, e) for e in events]
    poison: list[Raw] = [
        *(poison_random_bytes(rng) for _ in range(10)),
        *(poison_unknown_fingerprint(codec, e) for e in spare[0:10]),
        *(poison_without_headers(codec, e) for e in spare[10:20]),
        *(poison_wrong_type(codec, e) for e in spare[20:25]),
        *(encode(codec, rejected_hit(agreement)) for _ in range(10)),
    ]
    extra = [encode(codec, expired_alert(agreement)) for _ in range(5)] + good[:5]  # 5 duplicates
    produce(settings, topic, interleave(good, poison + extra))

    sink = FileSink(tmp_path / "sink")
    consumer, store, dlq = runtime_for(settings, group, topic, sink, codec)
    total = len(good) + len(poison) + len(extra)
    try:
        stats = consumer.run(max_messages=total, idle_timeout=60)
    finally:
        store.close()
        dlq.close()
        sink.close()
    reasons = Counter(entry.reason for entry in read_dead_letters(settings, group))
    written = journal(sink.root)
    assert (
        {e.envelope.message_id for e in events},
        (5000, 5000),
        {"undecodable": 10, "unknown_schema": 10, "bad_headers": 15, "invalid": 10},
        (5000, 5, 5, 45),
    ) == (
        message_files(sink.root),
        (len(written), len({line[3] for line in written})),
        dict(reasons),
        (stats.handled, stats.duplicate, stats.expired, stats.dead_lettered),
    )


def test_retriable_failure_keeps_partition_order_while_others_progress(
    settings: Settings, topic: str, group: str, agreement: Agreement, codec: Codec, tmp_path: Path
) -> None:
    """A sink down for 5 attempts on partition 0: its order is kept, the others go on, all once."""
    events = make_events(agreement, 600, seed=21)
    produce(settings, topic, (encode(codec, e) for e in events))
    sink = FlakySink(tmp_path / "sink", failing_partition=0, failures=5)
    policy = RetryPolicy(base_delay=0.05, max_delay=0.2)
    consumer, store, dlq = runtime_for(settings, group, topic, sink, codec, retry=policy)
    try:
        stats = consumer.run(max_messages=len(events), idle_timeout=60)
    finally:
        store.close()
        dlq.close()
        sink.close()
    written = journal(sink.root)
    by_partition: dict[int, list[int]] = {}
    for _topic, partition, offset, _id in written:
        by_partition.setdefault(partition, []).append(offset)
    first_of_p0 = next(i for i, line in enumerate(written) if line[1] == 0)
    assert (
        {e.envelope.message_id for e in events},
        600,
        {p: sorted(offsets) for p, offsets in by_partition.items()},
        True,
        (5, 600),
    ) == (
        message_files(sink.root),
        len(written),
        by_partition,
        first_of_p0 > 0,
        (stats.retried, stats.handled),
    )


def test_kill_9_mid_stream_then_restart_leaves_every_event_once_in_the_sink(
    settings: Settings, topic: str, group: str, agreement: Agreement, codec: Codec, tmp_path: Path
) -> None:
    """SIGKILL a consuming process mid-stream; after a restart the sink holds each event once."""
    events = make_events(agreement, 5000, seed=33)
    produce(settings, topic, (encode(codec, e) for e in events))
    out, state = tmp_path / "sink", tmp_path / "state"
    command = [
        sys.executable,
        str(WORKER),
        "--bootstrap",
        settings.bootstrap,
        "--topic",
        topic,
        "--group",
        group,
        "--out",
        str(out),
        "--state",
        str(state),
        "--max-records",
        "100",
    ]
    first = subprocess.Popen([*command, "--batch-delay", "0.05"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            log = out / "journal.log"
            if log.exists() and len(log.read_bytes().splitlines()) >= 1500:
                break
            time.sleep(0.02)
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.wait(timeout=30)
    killed_at = len(journal(out))
    # The killed member keeps its partitions until its session times out (6 s): the
    # restarted worker waits for them, so its idle limit is longer than that.
    second = subprocess.run(
        [*command, "--idle", "15"], capture_output=True, timeout=300, check=True, text=True
    )
    counts = json.loads(second.stdout.strip().splitlines()[-1])
    written = journal(out)
    assert (
        -signal.SIGKILL,
        True,
        {e.envelope.message_id for e in events},
        5000,
        5000,
    ) == (
        first.returncode,
        0 < killed_at < 5000,
        message_files(out),
        len(written),
        len({line[3] for line in written}),
    ), (counts, second.stderr[-2000:])


def test_rebalance_to_a_second_worker_loses_and_duplicates_nothing(
    settings: Settings, topic: str, group: str, agreement: Agreement, codec: Codec, tmp_path: Path
) -> None:
    """A second worker joins mid-stream: partitions move, each event is handled once in all."""
    events = make_events(agreement, 3000, seed=44)
    produce(settings, topic, (encode(codec, e) for e in events))
    out = tmp_path / "sink"
    first_sink = FileSink(out, flush_delay=0.05)
    second_sink = FileSink(out, flush_delay=0.05)
    first, first_store, first_dlq = runtime_for(
        settings, group, topic, first_sink, codec, max_records=100
    )
    second, second_store, second_dlq = runtime_for(
        settings, group, topic, second_sink, codec, max_records=100
    )
    results: dict[str, RunStats] = {}
    workers = [
        threading.Thread(target=lambda: results.update(first=first.run(idle_timeout=10))),
        threading.Thread(target=lambda: results.update(second=second.run(idle_timeout=10))),
    ]
    try:
        workers[0].start()
        deadline = time.monotonic() + 60
        while len(journal(out)) < 600 and time.monotonic() < deadline:
            time.sleep(0.05)
        joined_at = len(journal(out))
        workers[1].start()
        for worker in workers:
            worker.join(timeout=240)
    finally:
        for closeable in (
            first_store,
            second_store,
            first_dlq,
            second_dlq,
            first_sink,
            second_sink,
        ):
            closeable.close()
    written = journal(out)
    assert (
        True,
        3000,
        {e.envelope.message_id for e in events},
        (3000, 3000),
    ) == (
        joined_at < 3000,
        results["first"].handled + results["second"].handled,
        message_files(out),
        (len(written), len({line[3] for line in written})),
    )
