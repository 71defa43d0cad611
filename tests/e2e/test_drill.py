"""The short resilience drill (issue 18): every fault once, under load, on a three-broker
cluster of its own; the drill's ledger finds nothing lost, nothing doubled, nothing
unexpected, and the audit trail agrees with the local systems."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hxbus.drill import FAULT_NAMES

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.mark.timeout(1500)  # three JVMs, nine faults, a cluster restart, on two shared cores
def test_short_drill_loses_and_doubles_nothing(tmp_path: Path) -> None:
    """hxbus drill --minutes 2: exit 0, every fault exercised and hitting its target,
    0 lost, 0 duplicated, 0 unexpected, nothing refused by the publisher (a restarted one
    knows its need-to-know alerts), every withdrawal at its holders, audit agreeing."""
    report = tmp_path / "drill.md"
    env = {**os.environ}
    env.pop("HX_BOOTSTRAP", None)  # the drill starts its own cluster, never the shared one
    run = subprocess.run(
        [
            sys.executable, "-m", "hxbus", "drill", "--minutes", "2", "--rate", "15",
            "--root", str(tmp_path / "drill"), "--report", str(report),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1400,
        check=False,
    )  # fmt: skip
    assert report.with_suffix(".json").exists(), run.stdout[-3000:] + run.stderr[-3000:]
    data = json.loads(report.with_suffix(".json").read_text())
    faults = {row["fault"]: row for row in data["faults"][1:]}
    totals = data["totals"]
    expected = {
        "exit": 0,
        "faults": list(FAULT_NAMES),
        "killed": {"broker": True, "leader": True, "controller": True, "bridge": True},
        "bridge mid-batch": True,
        "publisher mid-batch": True,
        "sent again": True,
        "lost": 0,
        "duplicated": 0,
        "unexpected": 0,
        "withdrawals at the holders": totals["withdrawals_due"],
        "withdrawals elsewhere": 0,
        "audit disagreements": 0,
        "refused": 0,
        "all intended acknowledged": True,
        "drained": True,
    }
    actual = {
        "exit": run.returncode,
        "faults": list(faults),
        "killed": {
            name: faults[name]["detail"].get("pid") is not None
            for name in ("broker", "leader", "controller", "bridge")
        },
        "bridge mid-batch": faults["bridge"]["detail"]["files_of_batch_in_hand"] > 0,
        "publisher mid-batch": faults["publisher"]["detail"]["events_in_flight"] > 0,
        "sent again": totals["resent_after_publisher_restart"] > 0,
        "lost": totals["lost"],
        "duplicated": totals["duplicated"],
        "unexpected": totals["unexpected"],
        "withdrawals at the holders": totals["withdrawals_delivered"],
        "withdrawals elsewhere": totals["withdrawals_elsewhere"],
        "audit disagreements": totals["audit_missing"]
        + totals["audit_without_delivery"]
        + totals["audit_unverified"],
        "refused": totals["events_refused"],
        "all intended acknowledged": totals["events_intended"] == totals["events_acknowledged"],
        "drained": data["run"]["drained"],
    }
    assert expected == actual, run.stdout[-3000:]
