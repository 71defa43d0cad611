"""End-to-end latency in the demo's set-up: four bridges, the tracker, signed traffic.

The latency section (``bench.latency``) runs one bridge alone; ``hxbus demo`` runs four
bridges, the request tracker and ten signing publishers on the same cores, and once
reported a latency a hundred times the bench's. This section runs the demo itself
(``hxbus.demo.RegionalDemo``, its default rate) on the benchmark's broker — plain or
secured as that broker is — and reports what the demo reports: ``created_at`` → the file
visible in each inbox, measured by ``bridge.inbox_latency`` as the latency section
measures it, second notices left out.

The demo's metrics ports are fixed (deploy/prometheus); when another demo holds them,
this waits for them (``PORT_WAIT_S``) before it gives up with ``BenchFailed``.
"""

from __future__ import annotations

import dataclasses
import io
import os
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from hxbus import broker
from hxbus.demo import DEFAULT_RATE, DemoPorts, RegionalDemo
from runtime import Settings
from schemas import Agreement
from schemas.errors import BenchFailed

#: How long to wait for another run's demo to free the metrics ports.
PORT_WAIT_S = 180.0


def demo_latency(
    settings: Settings,
    agreement: Agreement,
    workdir: Path,
    *,
    seconds: float,
    rate: float = DEFAULT_RATE,
) -> dict[str, Any]:
    """Run the demo for ``seconds`` at ``rate``; its latency, all provinces and each."""
    _wait_for_ports(agreement)
    secured = settings.effective_security_protocol.startswith("SASL_")
    demo = RegionalDemo(
        settings,
        agreement,
        root=workdir / "demo",
        duration_s=seconds,
        rate=rate,
        seed=1,
        console=Console(file=io.StringIO()),
        live=False,
        plain=not secured,
    )
    load = [round(x, 2) for x in os.getloadavg()]
    summary = demo.run()
    if summary.latency is None or not summary.drained:
        raise BenchFailed(f"the demo at {rate:g}/s delivered no files or did not catch up")
    return {
        "offered_per_s": rate,
        "seconds": seconds,
        "published": sum(summary.published.values()),
        "secured": secured,
        "load_average": load,
        "all": dataclasses.asdict(summary.latency),
        "provinces": {p: dataclasses.asdict(m) for p, m in summary.latency_by_province.items()},
    }


def _wait_for_ports(agreement: Agreement) -> None:
    ports = list(DemoPorts.of(agreement).all().values())
    deadline = time.monotonic() + PORT_WAIT_S
    while any(broker.port_in_use(port) for port in ports):
        if time.monotonic() > deadline:
            raise BenchFailed(
                f"the demo's metrics ports {ports} stayed in use for {PORT_WAIT_S:.0f} s "
                "(another demo running?)"
            )
        time.sleep(2.0)
