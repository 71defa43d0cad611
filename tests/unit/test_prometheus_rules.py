"""deploy/prometheus: the config and the alerting rules load in promtool, the rules' unit
tests pass, and every rule reads only series hxbus exposes.

promtool comes with Debian's ``prometheus`` package (``scripts/setup`` installs it). A missing
promtool fails these tests: an alert rule nobody checked is an alert that never fires.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from metric_names import PROMETHEUS_SERIES, exposed_names, promql_metric_names

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES = PROMETHEUS_DIR / "rules.yml"
REQUIRED_ALERTS = {
    "HxConsumerLagGrowing",
    "HxDeadLettersGrowing",
    "HxBridgeDown",
    "HxEndToEndLatencyHigh",
    "HxImmediateRequestOverdue",
}


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(
            "promtool is not installed (Debian package prometheus; scripts/setup installs it)"
        )
    return subprocess.run(
        [promtool, *args],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _rule_exprs() -> dict[str, str]:
    """alert name -> expression, read from rules.yml (block scalars or one-liners)."""
    text = RULES.read_text(encoding="utf-8")
    found = re.findall(
        r"- alert: (\w+)\n\s+expr: (?:\|\n((?:\s{10,}.*\n)+)|(.*)\n)", text, flags=re.MULTILINE
    )
    return {name: (block or line).strip() for name, block, line in found}


def test_promtool_check_rules_accepts_the_rules() -> None:
    """promtool check rules rules.yml succeeds."""
    done = _promtool("check", "rules", "rules.yml")
    assert 0 == done.returncode, done.stdout + done.stderr


def test_promtool_check_config_accepts_the_scrape_config() -> None:
    """promtool check config prometheus.yml succeeds (it also loads the rules)."""
    done = _promtool("check", "config", "prometheus.yml")
    assert 0 == done.returncode, done.stdout + done.stderr


def test_promtool_rule_unit_tests_pass() -> None:
    """promtool test rules rules_test.yml: every alert fires and stays quiet as expected."""
    done = _promtool("test", "rules", "rules_test.yml")
    assert (0, True) == (done.returncode, "SUCCESS" in done.stdout), done.stdout + done.stderr


def test_every_required_alert_has_a_firing_and_a_quiet_case() -> None:
    """Each alert of rules.yml is tested both firing and not firing in rules_test.yml."""
    tests = (PROMETHEUS_DIR / "rules_test.yml").read_text(encoding="utf-8")
    cases = re.findall(r"alertname: (\w+)\n\s+exp_alerts:( \[\])?", tests)
    firing = {name for name, empty in cases if not empty}
    quiet = {name for name, empty in cases if empty}
    alerts = set(_rule_exprs())
    assert REQUIRED_ALERTS <= alerts
    assert (alerts, alerts) == (firing, quiet)


def test_rules_read_only_exposed_metrics() -> None:
    """Every metric name in a rule's expression is one an hxbus process exposes."""
    known = exposed_names() | PROMETHEUS_SERIES
    used = {name for expr in _rule_exprs().values() for name in promql_metric_names(expr)}
    assert set() == used - known
    assert len(_rule_exprs()) == len(
        [expr for expr in _rule_exprs().values() if promql_metric_names(expr)]
    )
