"""The drill's report: a terminal table, JSON, and Markdown, from one ``Result``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich.table import Table

from hxbus.drill.check import Result, Window

_COLUMNS = (
    ("fault", "fault"),
    ("acknowledged", "events acked during it"),
    ("healed_s", "healed after (s)"),
    ("resumed_s", "deliveries resumed after (s)"),
    ("highest_lag_s", "highest lag (s)"),
    ("expected", "deliveries due"),
    ("lost", "lost"),
    ("duplicated", "duplicated"),
)


#: What the columns mean, at the end of the Markdown report.
HOW_TO_READ = (
    "## How to read it",
    "",
    "- Each row after *baseline* covers one fault, from its start to the next fault's start "
    "(the last: to the end of traffic); an event counts in the row in which the publisher got "
    "its acknowledgement.",
    "- *healed after*: from the fault's start until the drill had undone it (node restarted "
    "and unfenced, role ready again, receiver answering, cluster serving).",
    "- *deliveries resumed after*: from the fault's start until deliveries flowed again after "
    "the longest stall (over 1.5 s without a delivery) that began during the fault, in the "
    "local system where that took longest; 0.0 when no local system stalled.",
    "- *highest lag*: the longest time an event acknowledged in the row waited, after its "
    "acknowledgement, until a local system had it.",
    "- *lost*: deliveries the ledger says are due and no local system holds; *duplicated*: a "
    "message stored twice, or one event stored under two message ids.",
    "- The ledger is the drill's own SQLite file, written by the drill's publisher (intent "
    "before sending, copies and expected provinces at the acknowledgement, fsynced); the "
    "local systems are the inbox files and the HTTP receiver's log; the roles' own stores "
    "and metrics are not consulted.",
)


def _row(window: Window) -> dict[str, Any]:
    return {
        "fault": window.name,
        "description": window.description,
        "started_at": datetime.fromtimestamp(window.started, UTC).isoformat(timespec="seconds"),
        "acknowledged": window.acknowledged,
        "healed_s": window.healed_s,
        "resumed_s": window.resumed_s,
        "highest_lag_s": round(window.highest_lag_s, 1),
        "expected": window.expected,
        "delivered": window.delivered,
        "lost": window.lost,
        "duplicated": window.duplicated,
        "detail": window.detail,
    }


def as_dict(result: Result, run: dict[str, Any]) -> dict[str, Any]:
    return {
        "run": run,
        "passed": result.passed,
        "faults": [_row(w) for w in result.windows],
        "totals": {
            "events_intended": result.events_intended,
            "events_acknowledged": result.events_acknowledged,
            "events_refused": result.events_refused,
            "copies_acknowledged": result.copies,
            "deliveries_due": result.expected,
            "delivered": result.delivered,
            "lost": result.lost,
            "duplicated": result.duplicated,
            "unexpected": result.unexpected,
            "second_notices": result.second_notices,
            "withdrawals_due": result.withdrawals_expected,
            "withdrawals_delivered": result.withdrawals_delivered,
            "withdrawals_elsewhere": result.withdrawals_elsewhere,
            "resent_after_publisher_restart": result.resent_after_restart,
            "copies_on_bus_more_than_once": result.on_bus_more_than_once,
            "audit_records": result.audit_records,
            "audit_missing": result.audit_missing,
            "audit_without_delivery": result.audit_without_delivery,
            "audit_unverified": result.audit_unverified,
            "audit_refusals": dict(result.audit_refusals),
        },
        "per_province": result.per_province,
        "examples": result.examples,
    }


def as_json(result: Result, run: dict[str, Any]) -> str:
    return json.dumps(as_dict(result, run), indent=2, sort_keys=False)


def _cell(value: Any) -> str:
    return "–" if value is None else str(value)


def as_table(result: Result) -> Table:
    table = Table(title="hxbus drill: per fault", title_justify="left")
    for _, header in _COLUMNS:
        table.add_column(header, justify="left" if header == "fault" else "right")
    for window in result.windows:
        row = _row(window)
        table.add_row(*(_cell(row[key]) for key, _ in _COLUMNS))
    table.add_section()
    table.add_row(
        "total",
        str(result.events_acknowledged),
        "",
        "",
        _cell(round(max((w.highest_lag_s for w in result.windows), default=0.0), 1)),
        str(result.expected),
        str(result.lost),
        str(result.duplicated),
    )
    return table


def summary_lines(result: Result) -> list[str]:
    verdict = "PASSED" if result.passed else "FAILED"
    return [
        f"{verdict}: {result.events_acknowledged} events acknowledged "
        f"({result.events_intended} intended, {result.events_refused} refused), "
        f"{result.copies} copies, "
        f"{result.expected} deliveries due, {result.delivered} delivered, "
        f"{result.lost} lost, {result.duplicated} duplicated, {result.unexpected} unexpected",
        f"withdrawals: {result.withdrawals_delivered} of {result.withdrawals_expected} "
        f"delivered to the holders, {result.withdrawals_elsewhere} elsewhere",
        f"publisher restarts: {result.resent_after_restart} events sent again; "
        f"{result.on_bus_more_than_once} copies on the bus more than once, each delivered once",
        f"audit: {result.audit_records} records, {result.audit_unverified} not verified as "
        f"their bridge's; {result.audit_missing} deliveries without "
        f"a record, {result.audit_without_delivery} records without the delivery; refusals "
        f"{dict(result.audit_refusals) or 'none'}",
        f"second notices from the tracker: {result.second_notices}",
    ]


def as_markdown(result: Result, run: dict[str, Any]) -> str:
    lines = [
        "# Resilience drill report",
        "",
        "Generated by `hxbus drill` (issue 18): " + ", ".join(f"{k} {v}" for k, v in run.items()),
        "",
        "| " + " | ".join(h for _, h in _COLUMNS) + " |",
        "|" + "---|" * len(_COLUMNS),
    ]
    for window in result.windows:
        row = _row(window)
        lines.append("| " + " | ".join(_cell(row[k]) for k, _ in _COLUMNS) + " |")
    lines.append(
        f"| **total** | {result.events_acknowledged} | | | "
        f"{round(max((w.highest_lag_s for w in result.windows), default=0.0), 1)} | "
        f"{result.expected} | {result.lost} | {result.duplicated} |"
    )
    lines += [
        "",
        *(f"- {line}" for line in summary_lines(result)),
        "",
        "## What each fault did",
        "",
    ]
    for window in result.windows[1:]:
        detail = ", ".join(f"{k} {v}" for k, v in window.detail.items())
        lines.append(f"- **{window.name}**: {window.description} ({detail})")
    lines += ["", *HOW_TO_READ]
    if result.examples:
        lines += ["", "## Findings", ""]
        for kind, examples in result.examples.items():
            lines += [f"- {kind}: {e}" for e in examples]
    return "\n".join(lines) + "\n"
