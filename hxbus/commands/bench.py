"""``hxbus bench [--quick] [--out FILE.json]``: hxbus beside the raw clients, same run.

Publish throughput (Publisher vs a raw KafkaProducer with the same settings), bridge
throughput per province (``hxbus bridge run`` vs a raw KafkaConsumer), end-to-end latency
at fixed rates, hxbus publish and a bridge on both Kafka transports (kafka-python,
librdkafka) beside raw kafka-python and raw confluent-kafka (with the librdkafka extra),
codec/validation/translation micro-figures and a bridge's peak RSS,
against the broker of ``HX_BOOTSTRAP`` (the agreement's topics are provisioned there
first, as ``hxbus provision`` does); the demo's set-up runs on a broker of its own.
Tables to stdout; ``--out`` writes the JSON after every section (``"complete": false``
until the end; a failed section is named there, the earlier ones kept).
``--quick`` takes under two minutes; the full run several (it holds rates for 60 s).
The code lives in the top-level ``bench`` package.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from bench import FULL, QUICK, TINY, print_tables, run_bench
from runtime import Settings
from schemas import load_agreement
from schemas.errors import ConfigError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark hxbus against raw kafka-python on the broker",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the short run (under two minutes)")
    size.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # the test suite's
    parser.add_argument("--out", type=Path, metavar="FILE.json", help="write the results here")
    parser.set_defaults(handler=_bench)


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    plan = TINY if args.tiny else QUICK if args.quick else FULL
    if args.out is not None and not args.out.resolve().parent.is_dir():
        raise ConfigError(f"--out {args.out}: its directory does not exist")
    agreement = load_agreement(settings.agreement)
    # SIGTERM (a timeout, a CI cancel) as Ctrl-C: the bridges, the demo's roles and the
    # demo's own broker are stopped, and the result file says the run was interrupted.
    signal.signal(signal.SIGTERM, _interrupt)
    # The file is rewritten after every section (bench.result_file): a late failure keeps
    # the earlier figures, marked incomplete, with the section that failed and why.
    result = run_bench(settings, agreement, plan, progress=_progress, out=args.out)
    print_tables(result)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _progress(text: str) -> None:
    print(f"hxbus bench: {text}", file=sys.stderr, flush=True)
