"""``hxbus simulate`` against the real broker: the rate is held, and every event is stored."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from runtime import Settings, run_provisioning
from schemas import Agreement

pytestmark = pytest.mark.broker

SUMMARY_RATE = re.compile(r"rate: requested 200/s, achieved ([0-9.]+)/s over ([0-9.]+) s")
SUMMARY_TOTAL = re.compile(r"total +stored +(\d+) +refused +(\d+)")


@pytest.mark.slow
def test_rate_is_held_over_five_seconds(kafka_bootstrap: str, agreement: Agreement) -> None:
    """--rate 200 --duration 5: 1,000 events stored, offered at 200/s ± 10 % (as measured)."""
    run_provisioning(Settings(bootstrap=kafka_bootstrap), agreement)
    env = {**os.environ, "HX_BOOTSTRAP": kafka_bootstrap, "HX_LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "-m", "hxbus", "simulate", "--rate", "200", "--duration", "5"],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    out = done.stdout.decode()
    rate = SUMMARY_RATE.search(out)
    total = SUMMARY_TOTAL.search(out)
    assert (0, True, True) == (done.returncode, rate is not None, total is not None), out
    assert rate is not None
    assert total is not None
    assert ("1000", "0") == total.groups()
    assert 180.0 <= float(rate.group(1)) <= 220.0
    assert 4.5 <= float(rate.group(2)) <= 5.5
