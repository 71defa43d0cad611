"""One benchmark run: every section in order, on the broker of ``Settings``, one result dict.

Sizes (quick / full): publish 3,000 events × 3 rounds / 20,000 × 5; bridge input 1,500 /
10,000 events; one bridge worker against two 12,000 / 40,000 events; latency 100 and
1,000 events/s for 4 s / 100, 1,000 and 5,000 for 10 s (after the alert register's
snapshot was brought up to date, ``bench.alert_register``), then the hold search with one
bridge worker (10 s per try, two rates at most / 60 s, four) and with two (after a 3 s
warm-up, two tries at most); micro-figures 0.3 s / 2 s per figure; the demo's set-up at
its default rate for 10 s / 30 s.
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

from bench.alert_register import catch_up_register
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


QUICK = Plan("quick", 3_000, 3, 1_500, (100, 1_000), 4.0, 10.0, 0.3, 10.0)
FULL = Plan("full", 20_000, 5, 10_000, (100, 1_000, 5_000), 10.0, 60.0, 2.0, 30.0)
#: The smallest run that still touches every section (the test suite's).
TINY = Plan("tiny", 300, 1, 200, (100,), 2.0, None, 0.05, 2.0)
#: Hold-search tries (each ``hold_s`` long): start rate × these factors, until one holds.
HOLD_STEPS = (1.0, 0.7, 0.5, 0.35)
#: The hold search runs with one bridge process, then with each further count of workers
#: (``--workers N``): the highest rate held is reported per count.
HOLD_WORKERS = (1, 2)
#: A new rig's bridge is warmed up first (offered rate, seconds: its start-up, the first
#: alert register load, in no try), as the first rig is by the latency steps.
HOLD_WARM_UP = (100.0, 3.0)


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
    # As a deployment's register role would have all along: else the latency bridge,
    # knowing no earlier alert, reads every earlier section's alerts as the register's
    # tail inside the measured steps (bench.alert_register).
    run.section(
        "alert_register",
        "alert register: its snapshot brought up to date, as its role keeps it",
        lambda: catch_up_register(settings, workdir / "alert-register"),
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
        rates = _hold_rates(steps, plan.hold_s)
        if plan.hold_s is not None:
            one = _hold_search(rig, plan.hold_s, rates, progress)
    finally:
        rig.close()
    out["peak_rss_mb"] = round(rig.bridge.peak_rss_kb / 1024, 1)
    if plan.hold_s is not None:
        out["hold"] = _hold_by_workers(
            one, settings, agreement, events, plan.hold_s, rates, workdir, progress
        )
    return out


def _hold_rates(steps: list[dict[str, Any]], hold_s: float | None) -> list[float]:
    """The rates the hold search tries, highest first: from the best rate the steps
    achieved down (the quick plan's short holds: the first two of them only)."""
    start = max(s["achieved_per_s"] for s in steps)
    factors = HOLD_STEPS if hold_s is not None and hold_s >= 60 else HOLD_STEPS[:2]
    return [_tried_rate(start * factor) for factor in factors]


def _tried_rate(rate: float) -> float:
    """A rate for the hold search: rounded to tens of events/s, 50 at least."""
    return float(max(50, round(rate, -1)))


def _hold_by_workers(
    one: dict[str, Any],
    settings: Settings,
    agreement: Agreement,
    events: list[Any],
    hold_s: float,
    rates: list[float],
    workdir: Path,
    progress: Any,
) -> dict[str, Any]:
    """The search with one bridge process (``one``), then with each count of HOLD_WORKERS
    beyond it on a rig of its own, two tries at most (the time budget): the lowest rate
    tried above what one worker held, then that rate; the two lowest when one held none."""
    by_workers = {"1": one["highest_rate_held_per_s"]}
    tries = list(one["tries"])
    for count in HOLD_WORKERS[1:]:
        held_one = one["highest_rate_held_per_s"]
        if held_one is None:
            higher = rates[-2:]
        else:
            higher = [r for r in rates if r > held_one][-1:]
            higher.append(_tried_rate(held_one))
        rig = LatencyRig(settings, agreement, events, workdir / f"workers-{count}", workers=count)
        try:
            progress(f"  warm-up {HOLD_WARM_UP[0]:g}/s for {HOLD_WARM_UP[1]:g} s, {count} workers")
            rig.run(*HOLD_WARM_UP)
            found = _hold_search(rig, hold_s, higher, progress)
        finally:
            rig.close()
        by_workers[str(count)] = found["highest_rate_held_per_s"]
        tries += found["tries"]
    held = {int(w): r for w, r in by_workers.items() if r is not None}
    best = max(held.items(), key=lambda item: item[1]) if held else None
    return {
        # The highest rate held with the workers that took (None: no rate tried was held).
        "highest_rate_held_per_s": best[1] if best else None,
        "workers": best[0] if best else None,
        "by_workers": by_workers,
        "seconds": hold_s,
        "tries": tries,
    }


def _hold_search(
    rig: LatencyRig, hold_s: float, rates: list[float], progress: Any
) -> dict[str, Any]:
    """Try ``rates`` in order (highest first) until one is held for hold_s."""
    tries = []
    for rate in rates:
        progress(f"  hold {rate:g}/s for {hold_s:g} s, {rig.workers} worker(s)")
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
