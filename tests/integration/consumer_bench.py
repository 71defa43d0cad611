"""Throughput of the consumer runtime against a bare consumer of the same transport.

    HX_BOOTSTRAP=127.0.0.1:19092 python tests/integration/consumer_bench.py [--events 20000]
        [--rounds 5]

Publishes ``--events`` exchange events (the fixture mix) to a fresh 3-partition topic,
then reads them three ways, one after the other on the same machine: a bare
``runtime.kafka`` consumer (no group, no decoding: the ceiling), the same plus ``Codec.decode``,
and the ``ConsumerRuntime`` with a handler that does nothing (decode, header checks,
dedupe lookups and marks, commits: everything a bridge pays for besides its sink).
Prints the median events/s of each over ``--rounds`` interleaved rounds and the runtime's
share of the raw read. Not a test: timings on a shared two-core machine are not something
to assert on.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from consumer_support import create_topic, encode, make_events, produce

from consumers import (
    Checks,
    ConsumerRuntime,
    DeadLetterQueue,
    DedupeStore,
    Delivery,
    Settlement,
    Subscription,
)
from runtime import Settings, configure_logging, open_admin, open_consumer
from runtime.kafka import TopicPartition
from schemas import Codec, load_agreement


class NullHandler:
    """Takes every message and does nothing; notes when the first one arrived."""

    def __init__(self) -> None:
        self.first: float | None = None

    def handle(self, message: Delivery) -> None:
        if self.first is None:
            self.first = time.perf_counter()

    def flush(self) -> None:
        pass


def raw_read(
    settings: Settings, topic: str, count: int, codec: Codec | None
) -> tuple[float, float]:
    """Wall and CPU seconds a group-less consumer takes to read ``count`` records (decoding
    them if asked)."""
    consumer = open_consumer(settings)
    try:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(partitions)
        seen, started, cpu = 0, time.perf_counter(), time.process_time()
        while seen < count:
            for records in consumer.poll(1.0, 500).values():
                seen += len(records)
                if codec is not None:
                    for record in records:
                        codec.decode(record.value or b"")
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        consumer.close()


def runtime_read(
    settings: Settings, topic: str, count: int, codec: Codec
) -> tuple[float, float, float]:
    """Seconds the runtime takes for ``count`` records: wall from run(), wall from the first
    record, and CPU (all threads of the process) from run()."""
    group = f"bench-{uuid.uuid4().hex[:8]}"
    handler = NullHandler()
    store = DedupeStore.for_group(settings.state_dir, group)
    dlq = DeadLetterQueue(settings, group, replication=1, min_insync_replicas=1)
    runtime = ConsumerRuntime(
        settings,
        Subscription(group, [topic], role="bench"),
        handler,
        Checks(codec, store),
        Settlement(dlq),
    )
    try:
        started, cpu = time.perf_counter(), time.process_time()
        stats = runtime.run(max_messages=count, idle_timeout=60)
        ended, cpu = time.perf_counter(), time.process_time() - cpu
    finally:
        store.close()
        dlq.close()
    assert stats.handled == count, stats
    return ended - started, ended - (handler.first or started), cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5, help="medians of this many runs")
    args = parser.parse_args()
    configure_logging("WARNING")
    with tempfile.TemporaryDirectory() as state:
        settings = Settings(state_dir=Path(state))
        codec = Codec()
        topic = f"bench-consumer-{uuid.uuid4().hex[:8]}"
        admin = open_admin(settings)
        create_topic(settings, admin, topic, 3)
        try:
            events = make_events(load_agreement(settings.agreement), args.events)
            produce(settings, topic, (encode(codec, e) for e in events))
            runs: dict[str, list[tuple[float, ...]]] = {"raw": [], "decode": [], "runtime": []}
            for _ in range(args.rounds):  # interleaved: the machine's load drifts
                runs["raw"].append(raw_read(settings, topic, args.events, None))
                runs["decode"].append(raw_read(settings, topic, args.events, codec))
                runs["runtime"].append(runtime_read(settings, topic, args.events, codec))
        finally:
            existing = admin.list_topics()
            admin.delete_topics(
                [t for t in existing if t == topic or t.startswith("hx.dlq.bench-")]
            )
            admin.close()
        n = args.events

        def median(name: str, index: int) -> float:
            return statistics.median(run[index] for run in runs[name])

        raw, raw_cpu = median("raw", 0), median("raw", 1)
        decoded, decoded_cpu = median("decode", 0), median("decode", 1)
        total, steady, runtime_cpu = (median("runtime", i) for i in range(3))
        print(f"medians of {args.rounds} rounds, {n} events; wall events/s, CPU us/event")
        print(f"bare consumer read         {n / raw:7.0f}/s  {raw_cpu / n * 1e6:6.1f} us")
        print(f"raw read + Codec.decode    {n / decoded:7.0f}/s  {decoded_cpu / n * 1e6:6.1f} us")
        print(
            f"runtime, null handler      {n / steady:7.0f}/s  {runtime_cpu / n * 1e6:6.1f} us"
            f"  ({n / total:.0f}/s counting the group join)"
        )
        print(
            f"runtime / raw read         {raw / steady:7.2f} wall  {raw_cpu / runtime_cpu:6.2f} CPU"
        )


if __name__ == "__main__":
    main()
