"""``hxbus drill [--minutes M] [--rate R] [--faults LIST] [--report FILE]``: the resilience
drill (issue 18).

Starts its own three-broker cluster (replication 3, min.insync.replicas 2) on free ports
of ``--ports`` (never the broker at HX_BOOTSTRAP), the four province bridges (Anhui's
through the HTTP sink to a local receiver the drill can make fail), the tracker and the
register, publishes seeded traffic at R events/s, and injects each fault in turn while
traffic flows: kill -9 of a broker, of the busiest partition's leader, of the active
controller (each restarted after 30 s); kill -9 of a bridge mid-batch and of the
publisher mid-batch (restarted: it sends again what was not acknowledged); the receiver
answering 503 for 60 s, then hanging past the sink's timeout; the whole cluster stopped
for 30 s; a broker frozen (SIGSTOP) for 20 s. Durations are the issue's at
``--minutes 10``; a shorter drill scales them down.

The drill's own ledger records every acknowledged event and who must receive it; at the
end every local system is checked against it. Prints a table per fault (events acked,
recovery, highest lag, lost, duplicated) and the totals; ``--report FILE`` writes the
Markdown report there and the JSON beside it (``FILE`` with ``.json``). Exit status: 0
when nothing was lost, duplicated or unexpected and the audit trail agrees; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from rich.console import Console

from hxbus.commands.traffic_options import add_traffic_arguments, positive
from hxbus.drill import (
    FAULT_NAMES,
    Drill,
    as_json,
    as_markdown,
    as_table,
    free_port_base,
    select_faults,
    summary_lines,
)
from hxbus.exit_codes import ExitCode
from runtime import Settings
from schemas import load_agreement
from schemas.errors import ConfigError

#: A shared two-core machine holds it with room to spare.
DEFAULT_RATE = 20.0
#: Below Linux's default ephemeral range (32768-60999): see ``_port_range``.
DEFAULT_PORTS = "31000-31999"
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "drill",
        help="resilience drill: faults under load on a three-broker cluster, checked by a ledger",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--minutes", type=positive, default=10.0, metavar="M", help="traffic time (10)"
    )
    add_traffic_arguments(
        parser,
        rate=DEFAULT_RATE,
        seed=18,
        root=Path("hxbus-drill"),
        root_help="work directory, emptied first",
    )
    parser.add_argument(
        "--faults", metavar="LIST", help="comma-separated, of: " + ", ".join(FAULT_NAMES)
    )
    parser.add_argument("--report", type=Path, metavar="FILE", help="write the Markdown report")
    parser.add_argument(
        "--ports", default=DEFAULT_PORTS, help=f"range for the drill's ports ({DEFAULT_PORTS})"
    )
    parser.set_defaults(handler=_run)


def _port_range(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)-(\d+)", text.strip())
    if not match or not 1024 <= int(match[1]) < int(match[2]) <= 65535:
        raise ConfigError(f"--ports: {text!r} is not LOW-HIGH within 1024-65535")
    low, high = int(match[1]), int(match[2])
    ephemeral = _ephemeral_range()
    if ephemeral is not None and low <= ephemeral[1] and ephemeral[0] <= high:
        # While a broker is down, clients reconnecting to it get local ports from this
        # range; one may land on the dead broker's own port (a TCP self-connect) and keep
        # it from binding when it restarts. Found by the drill: a cluster restart failed so.
        raise ConfigError(
            f"--ports: {text} overlaps this host's ephemeral port range "
            f"{ephemeral[0]}-{ephemeral[1]} (net.ipv4.ip_local_port_range), from which a "
            "client's connection can take a stopped broker's port; choose ports outside it"
        )
    return low, high


def _ephemeral_range() -> tuple[int, int] | None:
    try:
        low, high = EPHEMERAL_RANGE_FILE.read_text().split()[:2]
        return int(low), int(high)
    except (OSError, ValueError):
        return None


def _run(args: argparse.Namespace, settings: Settings) -> int:
    faults = select_faults(args.faults)
    base = free_port_base(*_port_range(args.ports))
    agreement = load_agreement(settings.agreement)
    console = Console()
    drill = Drill(
        settings,
        agreement,
        root=args.root,
        minutes=args.minutes,
        rate=args.rate,
        faults=faults,
        base_port=base,
        seed=args.seed,
        say=lambda text: console.print(f"drill: {text}", highlight=False),
    )
    outcome = drill.run()
    console.print(as_table(outcome.result))
    for line in summary_lines(outcome.result):
        console.print(line, highlight=False)
    if args.report is not None:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(as_markdown(outcome.result, outcome.run), encoding="utf-8")
        args.report.with_suffix(".json").write_text(
            as_json(outcome.result, outcome.run) + "\n", encoding="utf-8"
        )
        console.print(f"report: {args.report} and {args.report.with_suffix('.json')}")
    else:
        console.print(json.dumps({"run": outcome.run}), highlight=False)
    return ExitCode.OK if outcome.result.passed else ExitCode.INVALID
