"""``hxbus lookup-service run``: the operator's hit/no-hit lookup on need-to-know alerts.

Runs beside the alert register, as the operator (``admin``): it holds the lookup key
(``<state>/secrets/lookup-key``, made on first start, 0600), keeps its index of restricted
alerts on ``hx.lookup.index`` from the issuers' own copies in the inboxes, and answers
``hx.lookup.requests`` on ``hx.lookup.replies.<agency>`` (``consumers.lookup``), as
consumer group ``hx.lookup`` (``--group G``; its inbox follower is ``G.inboxes``). Stops on
SIGTERM or SIGINT, or with ``--until-idle S`` once nothing came for S seconds.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from consumers.lookup import LOOKUP_GROUP, run_lookup
from hxbus.commands.metrics_option import serving_metrics
from hxbus.commands.role_options import add_role_arguments
from runtime import Settings, receiver_verifier
from schemas import load_agreement


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "lookup-service",
        help="answer hit/no-hit lookups on need-to-know alerts (the operator's service)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="lookup_action", metavar="ACTION", required=True)
    run = actions.add_parser(
        "run",
        help="run the lookup service until SIGTERM/SIGINT (or --until-idle)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_role_arguments(run, group=LOOKUP_GROUP, group_help=f"consumer group ({LOOKUP_GROUP})")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    agreement = load_agreement(settings.agreement)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with serving_metrics(args, settings) as ready:
        answered = run_lookup(
            settings,
            agreement,
            verifier=receiver_verifier(settings, agreement, role="lookup"),
            stop=stop,
            on_ready=ready.set,
            group=args.group,
            idle_timeout=args.until_idle,
        )
    print(f"lookup service: {answered} questions answered", file=sys.stderr)
    return 0
