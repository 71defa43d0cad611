"""deploy/grafana/dashboard.json: every panel query reads only series hxbus exposes, and
the dashboard shows what the ops team asked for (throughput per agency and province,
latency percentiles, lag, DLQ, overdue)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from metric_names import PROMETHEUS_SERIES, exposed_names, promql_metric_names

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboard.json"
_LABEL_VALUES = re.compile(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,")


def _load() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # a collapsed row holds its panels


def _queries(dashboard: dict[str, Any]) -> dict[str, list[str]]:
    """Panel title -> the PromQL of its targets."""
    return {
        panel["title"]: [target["expr"] for target in panel.get("targets", [])]
        for panel in _panels(dashboard["panels"])
        if panel["type"] != "row"
    }


def test_every_panel_query_uses_only_exposed_metrics() -> None:
    """Each metric name in a panel's query is one the registry exposes (with its suffix)."""
    known = exposed_names() | PROMETHEUS_SERIES
    used = {
        title: promql_metric_names(expr)
        for title, exprs in _queries(_load()).items()
        for expr in exprs
    }
    unknown = {title: sorted(names - known) for title, names in used.items() if names - known}
    assert {} == unknown


def test_every_panel_has_a_query_that_reads_a_metric() -> None:
    """No panel is empty: each has at least one query naming at least one metric."""
    empty = [
        title
        for title, exprs in _queries(_load()).items()
        if not any(promql_metric_names(expr) for expr in exprs)
    ]
    assert [] == empty


def test_template_variables_read_exposed_metrics() -> None:
    """The agency and province drop-downs take their values from series that exist."""
    variables = _load()["templating"]["list"]
    names = {
        match
        for variable in variables
        if variable["type"] == "query"
        for match in _LABEL_VALUES.findall(variable["definition"])
    }
    assert {"hx_published_total", "hx_bridge_deliveries_total"} == names
    assert set() == names - exposed_names()


def test_dashboard_shows_throughput_latency_lag_dlq_and_overdue() -> None:
    """The issue's panels are there: throughput per agency and province, latency
    percentiles, lag, dead letters and overdue requests."""
    exprs = [expr for exprs in _queries(_load()).values() for expr in exprs]
    wanted = {
        "per agency": r"sum by \(agency\) \(rate\(hx_published_total",
        "per province": r"sum by \(province\) \(rate\(hx_bridge_deliveries_total",
        "p50": r"histogram_quantile\(0\.5, .*hx_end_to_end_latency_seconds_bucket",
        "p99": r"histogram_quantile\(0\.99, .*hx_end_to_end_latency_seconds_bucket",
        "lag": r"hx_consumer_lag_messages",
        "dlq": r'hx_consumer_messages_total\{outcome="dead_lettered"\}',
        "overdue": r"hx_requests_overdue",
    }
    found = {name for name, pattern in wanted.items() if any(re.search(pattern, e) for e in exprs)}
    assert set(wanted) == found


def test_panel_ids_are_unique_and_fit_the_grid() -> None:
    """Grafana needs unique panel ids; a panel wider than 24 columns is cut off."""
    panels = list(_panels(_load()["panels"]))
    ids = [panel["id"] for panel in panels]
    too_wide = [p["title"] for p in panels if p["gridPos"]["x"] + p["gridPos"]["w"] > 24]
    assert (len(ids), []) == (len(set(ids)), too_wide)


def test_panel_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool parses every panel query (Grafana's variables replaced by sample values)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(
            "promtool is not installed (Debian package prometheus; scripts/setup installs it)"
        )
    exprs = [expr for exprs in _queries(_load()).values() for expr in exprs]
    values = {"$__rate_interval": "1m", "$agency": ".*", "$province": ".*"}
    rules = ["groups:", "  - name: dashboard", "    rules:"]
    for i, expr in enumerate(exprs):
        for variable, value in values.items():
            expr = expr.replace(variable, value)
        rules += [f"      - record: dashboard:query_{i}", f"        expr: {json.dumps(expr)}"]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text("\n".join(rules) + "\n", encoding="utf-8")
    done = subprocess.run(
        [promtool, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (0, f"SUCCESS: {len(exprs)} rules found") == (
        done.returncode,
        done.stdout.strip().splitlines()[-1].strip(),
    ), done.stdout + done.stderr
