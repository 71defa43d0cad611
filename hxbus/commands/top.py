"""``hxbus top [--url URL]... [--interval S] [--once]``: the exchange, live, in a terminal.

Reads the ``/metrics`` page of every role given by ``--url`` (default: the agreement's
metrics ports on this machine, which ``deploy/prometheus/prometheus.yml`` scrapes) every
second and shows, from the difference between two readings: events published per second
by agency and by event type, messages consumed by role and topic kind, deliveries per
province with p50/p99 end-to-end latency, consumer lag, dead-lettered messages, overdue
requests and refused signatures. Roles that do not answer are listed as down; the view keeps going.

``--once`` reads twice, ``--interval`` apart, prints one frame and exits. Ctrl-C ends
the live view.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from rich.console import Console
from rich.live import Live

from hxbus.metrics_view import Scrape, View, scrape
from hxbus.role_ports import role_ports
from hxbus.top_frame import render
from runtime import Settings
from schemas import Agreement, load_agreement
from schemas.errors import HxError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "top",
        help="live terminal view of throughput, latency, lag, DLQ and overdue requests",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--url",
        dest="urls",
        action="append",
        metavar="URL",
        help="a role's /metrics URL; repeat for several (default: the documented ports)",
    )
    parser.add_argument(
        "--interval", type=_interval, default=1.0, metavar="SECONDS", help="refresh (1)"
    )
    parser.add_argument("--once", action="store_true", help="print one frame and exit")
    parser.set_defaults(handler=_top)


def _top(args: argparse.Namespace, settings: Settings) -> int:
    agreement: Agreement | None
    workers: list[str] = []
    if args.urls:
        urls: list[str] = args.urls
        agreement = _agreement(settings)  # for the agency names only
    else:
        # The agreement's metrics ports are needed: its error says why it cannot be read.
        agreement = load_agreement(settings.agreement)
        roles = role_ports(agreement)
        urls = [role.url() for role in roles]
        workers = [url for role in roles for url in role.worker_urls()]
    names = {a.id: a.city for a in agreement.agencies} if agreement else {}
    console = Console()
    if args.once:
        before = scrape(urls, optional=workers)
        time.sleep(args.interval)
        console.print(render(View(scrape(urls, optional=workers), before), names))
        return 0
    previous: Scrape | None = None
    if not console.is_terminal:
        # Into a pipe or a file, a live display would show nothing until the end: print
        # one frame per interval instead, as a log of the exchange.
        try:
            while True:
                now = scrape(urls, optional=workers)
                console.print(render(View(now, previous), names))
                sys.stdout.flush()
                previous = now
                time.sleep(max(0.0, args.interval - (time.monotonic() - now.at)))
        except KeyboardInterrupt:
            return 0
    with Live(console=console, auto_refresh=False, screen=False) as live:
        try:
            while True:
                now = scrape(urls, optional=workers)
                live.update(render(View(now, previous), names), refresh=True)
                previous = now
                time.sleep(max(0.0, args.interval - (time.monotonic() - now.at)))
        except KeyboardInterrupt:
            return 0


def _agreement(settings: Settings) -> Agreement | None:
    """The agreement when it can be read (with ``--url`` the view works without)."""
    try:
        return load_agreement(settings.agreement)
    except HxError:
        return None


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
    if not value >= 0.1:
        raise argparse.ArgumentTypeError(f"must be at least 0.1 s, not {text}")
    return value
