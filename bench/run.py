"""One benchmark run: every section in order, on the broker of ``Settings``, one result dict.

Sizes (quick / full): publish 3,000 events × 3 rounds / 20,000 × 5; bridge input 1,500 /
10,000 events; one bridge worker against two 12,000 / 40,000 events; latency 100 and
1,000 events/s for 4 s / 100, 1,000 and 5,000 for 10 s,
then the hold search (60 s per try); micro-figures 0.3 s / 2 s per figure; the demo's
set-up at its default rate for 10 s / 30 s.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.bridge import bridge_throughput
from bench.demo_latency import demo_latency
from bench.events import bench_events
from bench.latency import LatencyRig
from bench.micro import codec_figures, translation_figures
from bench.publish import publish_throughput
from bench.sections import Sections
from bench.transports import transports
from bench.workers import EVENTS as WORKERS_EVENTS
from bench.workers import workers_scaling
from hxbus.demo import DEFAULT_RATE
from runtime import Settings, run_provisioning
from runtime.kafka import broker_answers
from runtime.signing_keys import keyed_copy
from schemas import Agreement
from schemas.errors import BenchFailed


@dataclass(frozen=True, slots=True)
class Plan:
    """How much of everything a run does."""

    name: str
    publish_events: int
    publish_rounds: int
    bridge_events: int
    latency_rates: tuple[float, ...]
    latency_seconds: float
    hold_s: float | None  # None: no search for the highest rate held
    micro_seconds: float
    demo_seconds: float  # the demo's set-up at its default rate (bench.demo_latency)


QUICK = Plan("quick", 3_000, 3, 1_500, (100, 1_000), 4.0, None, 0.3, 10.0)
FULL = Plan("full", 20_000, 5, 10_000, (100, 1_000, 5_000), 10.0, 60.0, 2.0, 30.0)
#: The smallest run that still touches every section (the test suite's).
TINY = Plan("tiny", 300, 1, 200, (100,), 2.0, None, 0.05, 2.0)
#: Hold-search tries (each ``hold_s`` long): start rate × these factors, until one holds.
HOLD_STEPS = (1.0, 0.7, 0.5, 0.35)


def run_bench(
    settings: Settings,
    agreement: Agreement,
    plan: Plan,
    *,
    progress: Any = print,
    out: Path | None = None,
) -> dict[str, Any]:
    """Every section of the benchmark; the result is what ``--out`` writes.

    It runs signed, as a secured deployment does: a copy of the agreement with a new key
    for every agency and bridge (``runtime.signing_keys.keyed_copy``, private halves in
    the run's temporary directory), so publishing signs, every bridge verifies each
    message and signs each audit record.

    First the agreement's topics are provisioned on the broker (idempotent, as ``hxbus
    provision``: a broker never provisioned is made ready, one that is changes nothing).
    ``out``: the result file, rewritten after every section (``bench.result_file``,
    ``"complete": false`` until the end). A section that fails raises ``BenchFailed``
    naming it, after the file says which one failed and why, the earlier ones kept.
    """
    with tempfile.TemporaryDirectory(prefix="hx-bench-") as work:
        workdir = Path(work)
        run = Sections(progress, out)
        run.result.update(
            {
                "plan": plan.name,
                "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": machine(),
                "bootstrap": settings.bootstrap,
                "signed": True,
            }
        )
        run.section(
            "provision",
            "provision: the agreement's topics (idempotent, as hxbus provision)",
            lambda: _provision(settings, agreement),
        )
        settings, agreement = keyed_copy(settings, agreement, workdir / "keys")
        return _run(settings, agreement, plan, workdir, run)


def _provision(settings: Settings, agreement: Agreement) -> dict[str, Any]:
    """The agreement's topics on the broker; what had to change (nothing, the second time).
    Topics only: the logins and ACLs of a secured broker are its operator's (``hxbus
    provision`` run as admin), and a bench must not revoke anyone's."""
    if not broker_answers(settings):  # at once, not after the admin client's 30 s
        raise BenchFailed(f"no Kafka broker answers at {settings.bootstrap} (HX_BOOTSTRAP)")
    plan = run_provisioning(settings, agreement)
    return {"topics": plan.topics, "actions": [a.describe() for a in plan.actions]}


def _run(
    settings: Settings, agreement: Agreement, plan: Plan, workdir: Path, run: Sections
) -> dict[str, Any]:
    began = time.monotonic()
    progress = run.progress
    events = bench_events(agreement, max(plan.publish_events, plan.bridge_events))
    result = run.result
    run.section(
        "codec",
        "micro-figures: codec, validation, translation, sink",
        lambda: codec_figures(agreement, events[:2_000], seconds=plan.micro_seconds),
    )
    run.section(
        "translation",
        "  translation and sink writes per province",
        lambda: translation_figures(agreement, events[:2_000], seconds=plan.micro_seconds),
    )
    run.section(
        "publish",
        f"publish: hxbus vs raw, {plan.publish_events} events x {plan.publish_rounds}",
        lambda: publish_throughput(
            settings, agreement, events[: plan.publish_events], rounds=plan.publish_rounds
        ),
    )
    run.section(
        "bridge",
        f"bridge: four provinces vs raw read, {plan.bridge_events} events",
        lambda: bridge_throughput(
            settings, agreement, events[: plan.bridge_events], list(agreement.provinces), workdir
        ),
    )
    run.section(
        "workers",
        f"workers: one bridge worker vs --workers 2, {WORKERS_EVENTS[plan.name]} events",
        lambda: workers_scaling(settings, agreement, plan.name, workdir),
    )
    run.section(
        "transports",
        "transports: hxbus and raw clients on kafka-python and librdkafka",
        lambda: transports(
            settings,
            agreement,
            events,
            publish_events=plan.publish_events,
            rounds=plan.publish_rounds,
            bridge_events=plan.bridge_events,
            workdir=workdir / "transports",
        ),
    )
    run.section(
        "latency",
        "latency: created_at -> local file",
        lambda: _latency(settings, agreement, events, plan, workdir, progress),
    )
    run.section(
        "demo",
        f"demo set-up: four bridges, tracker, signed traffic at {DEFAULT_RATE:g}/s "
        f"for {plan.demo_seconds:g} s, on a broker of its own",
        lambda: demo_latency(settings, agreement, workdir, seconds=plan.demo_seconds),
    )
    workers = result["workers"]["runs"]["2"]
    result["memory"] = {
        "bridge_peak_rss_mb": max(b["peak_rss_mb"] for b in result["bridge"].values()),
        "supervisor_peak_rss_mb": workers["supervisor_peak_rss_mb"],
        "worker_peak_rss_mb": max(workers["workers_peak_rss_mb"], default=0.0),
    }
    result["seconds"] = round(time.monotonic() - began, 1)
    result["complete"] = True
    run.save()
    return result


def _latency(
    settings: Settings,
    agreement: Agreement,
    events: list[Any],
    plan: Plan,
    workdir: Path,
    progress: Any,
) -> dict[str, Any]:
    rig = LatencyRig(settings, agreement, events, workdir)
    try:
        steps = []
        for rate in plan.latency_rates:
            progress(f"  {rate:g}/s for {plan.latency_seconds:g} s")
            steps.append(rig.run(rate, plan.latency_seconds))
        out: dict[str, Any] = {"province": rig.province, "steps": steps}
        if plan.hold_s is not None:
            out["hold"] = _hold_search(rig, plan.hold_s, steps, progress)
    finally:
        rig.close()
    out["peak_rss_mb"] = round(rig.bridge.peak_rss_kb / 1024, 1)
    return out


def _hold_search(
    rig: LatencyRig, hold_s: float, steps: list[dict[str, Any]], progress: Any
) -> dict[str, Any]:
    """Try from the best rate the steps achieved downwards until one is held for hold_s."""
    start = max(s["achieved_per_s"] for s in steps)
    tries = []
    for factor in HOLD_STEPS:
        rate = float(max(50, round(start * factor, -1)))
        progress(f"  hold {rate:g}/s for {hold_s:g} s")
        attempt = rig.run(rate, hold_s, sample_lag=True)
        tries.append(attempt)
        if attempt["held"]:
            held = attempt["achieved_per_s"]
            return {"highest_rate_held_per_s": held, "seconds": hold_s, "tries": tries}
    return {"highest_rate_held_per_s": None, "seconds": hold_s, "tries": tries}


def machine() -> dict[str, Any]:
    """nproc, RAM and CPU model of this machine (from /proc), and the load when measured."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kb = 0
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
