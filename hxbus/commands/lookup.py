"""``hxbus lookup-service``: the operator's hit/no-hit lookup on need-to-know alerts.

Runs beside the alert register, as the operator (``admin``): it holds the lookup key
(``<state>/secrets/lookup-key``, made on first start, 0600), keeps its index of restricted
alerts on ``hx.lookup.index`` from the issuers' own copies in the inboxes, and answers
``hx.lookup.requests`` on ``hx.lookup.replies.<agency>`` (``consumers.lookup``). Stops on
SIGTERM or SIGINT, or with ``--seconds`` after that long (tests, demos).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from consumers.lookup import run_lookup
from hxbus.commands.metrics_option import add_metrics_arguments, serving_metrics
from runtime import Settings, receiver_verifier
from schemas import load_agreement


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "lookup-service",
        help="answer hit/no-hit lookups on need-to-know alerts (the operator's service)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--seconds", type=float, metavar="S", help="stop after S seconds (default: on SIGTERM)"
    )
    add_metrics_arguments(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    agreement = load_agreement(settings.agreement)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if args.seconds is not None:
        threading.Timer(args.seconds, stop.set).start()
    with serving_metrics(args, settings) as ready:
        answered = run_lookup(
            settings,
            agreement,
            verifier=receiver_verifier(settings, agreement, role="lookup"),
            stop=stop,
            on_ready=ready.set,
        )
    print(f"lookup service: {answered} questions answered", file=sys.stderr)
    return 0
