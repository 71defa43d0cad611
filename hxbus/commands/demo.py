"""``hxbus demo [--duration S] [--rate R] [--seed N] [--root DIR] [--plain]``: the region.

Starts the exchange console first and prints its address (``--console-port``, default
8080, on 127.0.0.1; ``--no-console`` to skip it).

Runs on a secured broker (SASL/SCRAM logins per agency, bridge and auditor; ACLs) with
every message and every audit record signed: its own one-node broker, unless HX_BOOTSTRAP
is a secured broker the settings log in to as its super-user. ``--plain`` is the
development variant on a plain broker (no logins, no ACLs; still signed). Provisions the
agreement's topics, logins and ACLs, starts the four province bridges (directory sinks
under ``DIR/<province>/inbox/``) and the request tracker, publishes synthetic traffic
among the ten agencies (each with its own login and key) while the live view runs, waits
for the bridges to deliver everything, and prints a summary that says how it ran. Stops
what it started, also on Ctrl-C. See the ``hxbus.demo`` package for what each step does and why.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from bridge import MAX_WORKERS
from hxbus.commands.traffic_options import add_traffic_arguments, positive
from hxbus.console import DEFAULT_PORT
from hxbus.demo import DEFAULT_RATE, RegionalDemo, summary_lines, summary_table
from hxbus.exit_codes import ExitCode
from runtime import Settings
from schemas import load_agreement


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole region on this machine: broker, bridges, traffic, summary",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--duration", type=positive, default=30.0, metavar="S", help="seconds of traffic (30)"
    )
    add_traffic_arguments(
        parser, rate=DEFAULT_RATE, seed=1, root=Path("hxbus-demo"), root_help="the provinces' files"
    )
    parser.add_argument(
        "--no-live", action="store_true", help="progress lines instead of the live view"
    )
    parser.add_argument(
        "--console-port", type=int, default=DEFAULT_PORT,
        help=f"the exchange console's port on 127.0.0.1 ({DEFAULT_PORT})",
    )  # fmt: skip
    parser.add_argument("--no-console", action="store_true", help="do not start the console")
    parser.add_argument(
        "--plain",
        action="store_true",
        help="a plain development broker: no logins, no ACLs (signatures stay on)",
    )
    parser.add_argument(
        "--bridge-workers",
        type=int,
        default=1,
        choices=range(1, MAX_WORKERS + 1),
        metavar="N",
        help="worker processes per province bridge (1); worker K serves /metrics on the "
        "bridge's port + 10 x (K - 1)",
    )
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    console = Console()
    demo = RegionalDemo(
        settings,
        load_agreement(settings.agreement),
        root=args.root,
        duration_s=args.duration,
        rate=args.rate,
        seed=args.seed,
        console=console,
        live=console.is_terminal and not args.no_live,
        console_port=None if args.no_console else args.console_port,
        plain=args.plain,
        bridge_workers=args.bridge_workers,
    )
    try:
        summary = demo.run()
    except KeyboardInterrupt:
        console.print("demo: interrupted; everything it started is stopped")
        return 130  # as a shell reports SIGINT (hxbus --help)
    console.print(summary_table(summary, demo.root))
    for line in summary_lines(summary):
        console.print(line, highlight=False)
    agree = all(summary.delivered[p] == summary.files[p] for p in summary.delivered)
    if not agree:
        console.print("[red]delivered counts and files found differ[/red]")
    return ExitCode.OK if summary.drained and agree and not summary.refused else ExitCode.INVALID
