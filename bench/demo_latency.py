"""End-to-end latency in the demo's set-up: four bridges, the tracker, signed traffic.

The latency section (``bench.latency``) runs one bridge alone; ``hxbus demo`` runs four
bridges, the request tracker and ten signing publishers on the same cores, and once
reported a latency a hundred times the bench's. This section runs the demo itself
(``hxbus.demo.RegionalDemo``, its default rate) and reports what the demo reports:
``created_at`` → the file visible in each inbox, measured by ``bridge.inbox_latency`` as
the latency section measures it, second notices left out.

It runs on a broker of its own, what a new user's ``hxbus demo`` meets: by this section
the bench's broker holds the history of every earlier one (~300,000 records in a full
run), and the demo's bridges, which read from the topics' beginnings, spent minutes
loading the alert register (an alert-topic tail of 216,152 records: no ``hxbus
alert-register`` role keeps a snapshot on the bench's broker) and their inboxes' copies
before their first delivery (docs/benchmarks.md, the full run of 2026-12-05). Fresh topics
on the same broker would not do: the register and the copies are read from the
agreement's fixed topic names. So one single-node KRaft broker is started
(``hxbus.broker``, as ``hxbus demo`` starts its own), plain or secured (SASL, and TLS if
the bench's uses it) as the bench's broker is, with its state under the run's temporary
directory, on the first free pair of ports from the bench broker's port + 100 (or
``HX_BENCH_DEMO_PORT``), and stopped when the section ends, also on a failure or Ctrl-C.
The start (about 10 s, more on a loaded machine) is not part of the figures.

The demo's metrics ports are fixed (deploy/prometheus); when another demo holds them,
this waits for them (``PORT_WAIT_S``) before it gives up with ``BenchFailed``. Every
wait of the demo is bounded (its roles ready: 90 s; the drain after the traffic: 120 s),
so the section ends, with ``BenchFailed`` if the demo did not catch up.
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
from hxbus.demo.region_broker import free_port_pair
from runtime import Settings
from schemas import Agreement
from schemas.errors import BenchFailed

#: How long to wait for another run's demo to free the metrics ports.
PORT_WAIT_S = 180.0
#: The demo's own broker: this far above the bench broker's port (then the next free pair).
DEMO_PORT_OFFSET = 100


def demo_latency(
    settings: Settings,
    agreement: Agreement,
    workdir: Path,
    *,
    seconds: float,
    rate: float = DEFAULT_RATE,
) -> dict[str, Any]:
    """Run the demo for ``seconds`` at ``rate`` on a broker of its own; its latency, all
    provinces and each."""
    _wait_for_ports(agreement)
    secured = settings.effective_security_protocol.startswith("SASL_")
    state = workdir / "demo-broker"
    port = free_port_pair(_demo_port(settings))
    began = time.monotonic()
    try:  # the stop also when the start is interrupted (it reads what was laid out)
        cluster = broker.start_cluster(
            state,
            nodes=1,
            port=port,
            secure=secured,
            tls=secured and settings.effective_security_protocol == "SASL_SSL",
        )
        own = broker.admin_settings(cluster).model_copy(
            update={
                "agreement": settings.agreement,
                "state_dir": settings.state_dir,
                "metrics_host": settings.metrics_host,
                "kafka_client": settings.kafka_client,
            }
        )
        started_s = round(time.monotonic() - began, 1)
        result = _run_demo(own, agreement, workdir, seconds=seconds, rate=rate, secured=secured)
        return {**result, "broker": {"bootstrap": cluster.bootstrap, "start_s": started_s}}
    finally:
        broker.stop_cluster(state)


def _demo_port(settings: Settings) -> int:
    """``HX_BENCH_DEMO_PORT``, else the bench broker's port + 100 (free_port_pair looks on
    from there)."""
    chosen = os.environ.get("HX_BENCH_DEMO_PORT")
    if chosen:
        try:
            return int(chosen)
        except ValueError:
            raise BenchFailed(f"HX_BENCH_DEMO_PORT={chosen!r}: not a port number") from None
    return broker.bootstrap_port(settings.bootstrap) + DEMO_PORT_OFFSET


def _run_demo(
    settings: Settings,
    agreement: Agreement,
    workdir: Path,
    *,
    seconds: float,
    rate: float,
    secured: bool,
) -> dict[str, Any]:
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
