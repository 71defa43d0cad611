"""What the demo reports at the end: the counts it gathered, and how it prints them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table

from bridge.inbox_latency import Percentiles

#: How long the bridges may take to drain after the last event before the summary.
DRAIN_TIMEOUT_S = 120.0


@dataclass
class Summary:
    """What the demo reports at the end, and what its test checks."""

    #: Ran on a broker with SASL logins and ACLs (not ``--plain``).
    secured: bool = False
    #: Agencies and bridges that signed (every message, every audit record).
    signing_agencies: int = 0
    signing_bridges: int = 0
    published: Counter[str] = field(default_factory=Counter)
    refused: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    dead_letters: Counter[str] = field(default_factory=Counter)
    overdue: int = 0
    second_notices: int = 0
    answered_in_time: int = 0
    #: End-to-end latency, created_at -> the file visible in the inbox, of the events
    #: this run published (``bridge.inbox_latency``, as ``hxbus bench`` measures it): all
    #: provinces, and per province. Second notices keep their request's issue time and
    #: are left out.
    latency: Percentiles | None = None
    latency_by_province: dict[str, Percentiles] = field(default_factory=dict)
    drained: bool = False
    #: Duplicate-check questions the lookup service answered, by outcome (hit, no_hit…).
    lookups: Counter[str] = field(default_factory=Counter)


def summary_table(summary: Summary, root: Path) -> Table:
    """The closing table: per province, delivered (metrics) next to files found."""
    table = Table(title="hxbus regional demo — summary", show_lines=False)
    table.add_column("province")
    table.add_column("delivered", justify="right")
    table.add_column("files in inbox", justify="right")
    table.add_column("where")
    for province, delivered in summary.delivered.items():
        table.add_row(
            province,
            str(delivered),
            str(summary.files.get(province, 0)),
            str(root / province / "inbox"),
        )
    return table


def summary_lines(summary: Summary) -> list[str]:
    published = sum(summary.published.values())
    by_type = ", ".join(f"{t} {n}" for t, n in sorted(summary.published.items()))
    dead = ", ".join(f"{r} {n}" for r, n in sorted(summary.dead_letters.items())) or "none"
    if summary.secured:
        trust = (
            f"ran signed on a secured broker: Ed25519 signatures of {summary.signing_agencies} "
            f"agencies verified by every receiver, audit records signed by "
            f"{summary.signing_bridges} bridges; SASL/SCRAM logins per agency, bridge and "
            "auditor; ACLs"
        )
    else:
        trust = (
            f"ran signed ({summary.signing_agencies} agencies, {summary.signing_bridges} "
            "bridges) on a PLAIN development broker: no logins, no ACLs (--plain)"
        )
    return [
        trust,
        f"published {published} events ({by_type}); refused before sending: {summary.refused}",
        f"dead letters by reason: {dead}",
        "duplicate check of need-to-know alerts, lookups answered: "
        + (", ".join(f"{o} {n}" for o, n in sorted(summary.lookups.items())) or "none"),
        f"requests and hit confirmations answered in time: {summary.answered_in_time}; "
        f"overdue: {summary.overdue}; second notices sent: {summary.second_notices}",
        latency_line(summary),
        "all delivered"
        if summary.drained
        else f"the bridges had not caught up after {DRAIN_TIMEOUT_S:.0f} s",
    ]


def latency_line(summary: Summary) -> str:
    """The summary's latency line: all provinces, then each."""
    head = "end-to-end latency (created_at -> file visible in the inbox, second notices left out)"
    if summary.latency is None:
        return f"{head}: no files"
    each = ", ".join(
        f"{p} {_ms(m.p50_ms)}/{_ms(m.p99_ms)}" for p, m in summary.latency_by_province.items()
    )
    return (
        f"{head}: p50 {_ms(summary.latency.p50_ms)}, p99 {_ms(summary.latency.p99_ms)} over "
        f"{summary.latency.count} files (p50/p99 by province: {each})"
    )


def _ms(milliseconds: float) -> str:
    return f"{milliseconds:.0f} ms"


def count_files(directory: Path) -> int:
    """Delivered files: the directory sink's temp files start with a dot."""
    if not directory.is_dir():
        return 0
    return sum(1 for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))
