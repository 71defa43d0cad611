"""One frame of ``hxbus top`` (and of the demo's live view): tables from a ``View``.

Kept apart from the command so that the demo can draw the same frame without importing
a command module.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from hxbus.metrics_view import Key, Row, View


def render(view: View, agency_names: dict[str, str] | None = None) -> RenderableType:
    """One frame: a headline, then the tables that have something to show."""
    names = agency_names or {}
    published = view.total("hx_published_total", outcome="ok")
    delivered = view.total("hx_bridge_deliveries_total", outcome="delivered")
    dead = view.total("hx_consumer_messages_total", outcome="dead_lettered")
    overdue = sum(view.gauge("hx_requests_overdue", ()).values())
    lag = sum(view.gauge("hx_consumer_lag_messages", ()).values())
    signatures = view.total("hx_signature_failures_total")
    headline = Text.assemble(
        ("hxbus top", "bold"),
        f"  published {published.rate:.1f}/s ({published.total:.0f})",
        f"  delivered {delivered.rate:.1f}/s ({delivered.total:.0f})",
        f"  p50 {_ms(view.latency(0.5))}  p99 {_ms(view.latency(0.99))}",
        f"  lag {lag:.0f}",
        (f"  dlq {dead.total:.0f}", "bold red" if dead.total else ""),
        (f"  overdue {overdue:.0f}", "bold red" if overdue else ""),
        (f"  bad signatures {signatures.total:.0f}", "bold red" if signatures.total else ""),
    )
    parts: list[RenderableType] = [headline, _targets(view)]
    parts += [t for t in (_by_agency(view, names), _by_type(view), _consumers(view)) if t]
    parts += [t for t in (_bridges(view), _overdue(view)) if t]
    return Group(*parts)


def _targets(view: View) -> Text:
    text = Text(f"roles up {len(view.now.up)}/{len(view.now.up) + len(view.now.errors)}")
    if view.now.workers_up:
        text.append(f" (+{len(view.now.workers_up)} bridge workers)")
    if view.now.errors:
        text.append("  down: " + ", ".join(sorted(view.now.errors)), style="dim")
    return text


def _by_agency(view: View, names: dict[str, str]) -> Table | None:
    ok = _by(view, "hx_published_total", ("agency",), "ok")
    rejected = _by(view, "hx_published_total", ("agency",), "rejected")
    failed = _by(view, "hx_published_total", ("agency",), "failed")
    keys = sorted(ok.keys() | rejected.keys() | failed.keys())
    if not keys:
        return None
    table = _table("published by agency", "agency", "events/s", "ok", "rejected", "failed")
    for key in keys:
        table.add_row(
            _agency(key[0], names),
            _rate(ok.get(key)),
            _total(ok.get(key)),
            _total(rejected.get(key)),
            _total(failed.get(key)),
        )
    return table


def _by_type(view: View) -> Table | None:
    published = _by(view, "hx_published_total", ("event_type",), "ok")
    consumed = _by(view, "hx_consumer_messages_total", ("event_type",), "handled")
    delivered = _by(view, "hx_bridge_deliveries_total", ("event_type",), "delivered")
    keys = sorted(published.keys() | consumed.keys() | delivered.keys())
    if not keys:
        return None
    table = _table("by event type", "event type", "published/s", "handled/s", "delivered/s")
    for key in keys:
        table.add_row(key[0], *(_rate(rows.get(key)) for rows in (published, consumed, delivered)))
    return table


def _consumers(view: View) -> Table | None:
    by = ("role", "topic_kind")
    handled = _by(view, "hx_consumer_messages_total", by, "handled")
    outcomes = {
        name: _by(view, "hx_consumer_messages_total", by, name)
        for name in ("duplicate", "expired", "dead_lettered")
    }
    lag = view.gauge("hx_consumer_lag_messages", by)
    keys = sorted(handled.keys() | lag.keys() | set().union(*outcomes.values()))
    if not keys:
        return None
    table = _table(
        "consumers by topic kind", "role", "topic", "handled/s", "handled", "dup", "expired"
    )
    table.add_column("dlq", justify="right")
    table.add_column("lag", justify="right")
    for key in keys:
        row = handled.get(key)
        counts = (
            _total(outcomes[name].get(key)) for name in ("duplicate", "expired", "dead_lettered")
        )
        table.add_row(key[0], key[1], _rate(row), _total(row), *counts, f"{lag.get(key, 0.0):.0f}")
    return table


def _bridges(view: View) -> Table | None:
    rows = {
        name: _by(view, "hx_bridge_deliveries_total", ("province",), name)
        for name in ("delivered", "filtered", "rejected")
    }
    provinces = sorted(set().union(*rows.values()) | {(p,) for p in view.provinces()})
    if not provinces:
        return None
    table = _table(
        "bridges", "province", "delivered/s", "delivered", "filtered", "rejected", "p50", "p99"
    )
    for key in provinces:
        delivered = rows["delivered"].get(key)
        table.add_row(
            key[0],
            _rate(delivered),
            _total(delivered),
            _total(rows["filtered"].get(key)),
            _total(rows["rejected"].get(key)),
            _ms(view.latency(0.5, key[0])),
            _ms(view.latency(0.99, key[0])),
        )
    return table


def _overdue(view: View) -> Table | None:
    by_kind = view.gauge("hx_requests_overdue", ("kind", "priority"))
    overdue = {key: count for key, count in by_kind.items() if count}
    if not overdue:
        return None
    table = _table("overdue", "kind", "priority", "count")
    for (kind, priority), count in sorted(overdue.items()):
        table.add_row(kind, priority, f"{count:.0f}", style="bold red")
    return table


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    return table


def _by(view: View, series: str, by: tuple[str, ...], outcome: str) -> dict[Key, Row]:
    return {row.key: row for row in view.rows(series, by, outcome=outcome)}


def _rate(row: Row | None) -> str:
    return f"{row.rate:.1f}" if row is not None else "0.0"


def _total(row: Row | None) -> str:
    return f"{row.total:.0f}" if row is not None else "0"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def _agency(agency_id: str, names: dict[str, str]) -> str:
    name = names.get(agency_id)
    return f"{agency_id} {name}" if name else agency_id
