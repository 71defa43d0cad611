"""A small consumer process for the crash test: the runtime feeding a FileSink.

    python consumer_worker.py --bootstrap HOST:PORT --topic T --group G --out DIR \
        --state DIR [--batch-delay SECONDS] [--idle SECONDS]

Runs until SIGTERM/SIGINT or until nothing arrived for ``--idle`` seconds, then prints
its counts as one JSON line. ``--batch-delay`` slows every flush, so that a test can kill
the process (SIGKILL) in the middle of the stream.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from consumer_support import FileSink

from consumers import (
    Checks,
    ConsumerRuntime,
    DeadLetterQueue,
    DedupeStore,
    Polling,
    Settlement,
    Subscription,
)
from runtime import Settings, configure_logging
from runtime.kafka import ConsumerOptions
from schemas import Codec


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--batch-delay", type=float, default=0.0)
    parser.add_argument("--max-records", type=int, default=100)
    parser.add_argument("--idle", type=float, default=None)
    args = parser.parse_args()
    configure_logging("WARNING", json=True)  # to stderr; stdout carries the counts only

    settings = Settings(bootstrap=args.bootstrap, state_dir=args.state)
    sink = FileSink(args.out, flush_delay=args.batch_delay)
    store = DedupeStore.for_group(settings.state_dir, args.group)
    dlq = DeadLetterQueue(settings, args.group, replication=1, min_insync_replicas=1)
    runtime = ConsumerRuntime(
        settings,
        Subscription(args.group, [args.topic], role="test"),
        sink,
        Checks(Codec(), store),
        Settlement(dlq),
        Polling(
            max_records=args.max_records,
            # A killed member holds its partitions until its session expires (kafka-python's
            # default is 45 s); the broker's minimum, 6 s, lets the restarted worker in sooner.
            consumer_options=ConsumerOptions(session_timeout_ms=6000, heartbeat_interval_ms=2000),
        ),
    )
    try:
        stats = runtime.run_forever(idle_timeout=args.idle)
    finally:
        dlq.close()
        store.close()
        sink.close()
    counts = {
        "handled": stats.handled,
        "duplicate": stats.duplicate,
        "dead_lettered": stats.dead_lettered,
        "sink_already_present": sink.already_present,
    }
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main()
