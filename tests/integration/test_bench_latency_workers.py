"""The bench's latency rig with ``--workers 2`` against the real broker: both workers hold
partitions before it offers traffic, and the files they write give latencies.

The hold search (bench.run) runs this rig for its second worker count; the suite's tiny
bench plan does no hold search, so this is where the two-worker rig runs in CI. No timing
is asserted: the figures are the benchmark's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.events import bench_events
from bench.latency import LatencyRig
from runtime import Settings, run_provisioning
from runtime.signing_keys import keyed_copy
from schemas import Agreement

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_two_worker_rig_delivers_and_samples_lag(
    kafka_bootstrap: str, agreement: Agreement, tmp_path: Path
) -> None:
    """At 30/s for 2 s both workers hold partitions, files are delivered, the lag is judged."""
    settings = Settings(bootstrap=kafka_bootstrap, state_dir=tmp_path / "state")
    run_provisioning(settings, agreement)
    settings, agreement = keyed_copy(settings, agreement, tmp_path / "keys")
    events = bench_events(agreement, 200)
    rig = LatencyRig(settings, agreement, events, tmp_path / "rig", workers=2)
    try:
        step = rig.run(30, 2.0, sample_lag=True)
        held = {
            line.get("worker")
            for line in rig.bridge.lines()
            if line.get("event") == "partitions_assigned" and line.get("partitions")
        }
    finally:
        rig.close()
    sd_events = step["delivered"]
    assert (step["workers"], held, sd_events > 0, "held" in step) == (2, {1, 2}, True, True)
