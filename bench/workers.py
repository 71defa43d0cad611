"""One province's bridge with one worker and with ``--workers 2``, over the same records.

The events are published once onto the agreement's topics; then the bridge reads them
twice, each time under a fresh group started where the publishing began, with its own
inbox root and state: first as one process (``hxbus bridge run``), then as a supervisor
with two worker processes (``--workers 2``). Both stop when idle.

A group of two settles its assignment only once both have joined (the first to join
gets every partition, then gives half back), so each run's rate counts the messages
finished from the moment every worker first held partitions up to its last message: the
steady state of that assignment, measured the same way for one worker and for two (not
from the last ``partitions_assigned``: the worker that runs out of work first leaves the
group when it goes idle, and the other is then assigned everything).

On a shared machine the wall-clock rates move with whatever else runs (the broker shares
the two cores); the CPU time the bridge's processes spent per record (``/proc/<pid>/stat``)
says what scaling the cores would allow: two workers spending what one does per record
can reach twice its rate on two free cores.

How the group spread the work: per worker, the partitions of its last assignment and the
records it finished in the measured span (a worker with less to do finishes early and
the group's rate is the slower worker's).

Resident memory: the peak ``VmHWM`` (``/proc/<pid>/status``) of the one-worker process,
of the supervisor and of each of its workers.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.bridge import IDLE_STOP_S
from bench.events import bench_events, restamped
from bench.offsets import end_offsets, start_group_at
from bench.processes import BridgeProcess
from bridge import bridge_topics
from producers import Publisher
from runtime import Settings, agreement_signers
from schemas import Agreement, ExchangeEvent
from schemas.errors import BenchFailed

#: The province measured: Jiangsu, whose bridge reads 21 partitions (two broadcast topics
#: of 6 and three inboxes of 3).
PROVINCE = "JS"
#: The issue's target for two workers against one.
TARGET = 1.6
#: Events published per plan (``bench.run``): enough that the steady state after the
#: group settles lasts seconds.
EVENTS = {"tiny": 200, "quick": 12_000, "full": 40_000}
#: Seed of this section's events: its own alerts, apart from the other sections'.
SEED = 17


def workers_scaling(
    settings: Settings, agreement: Agreement, plan: str, workdir: Path
) -> dict[str, Any]:
    """Events/s of one worker and of two over the same records, the ratio, and RSS."""
    events = bench_events(agreement, EVENTS[plan], seed=SEED)
    topics = bridge_topics(agreement, PROVINCE)
    start = end_offsets(settings, topics)
    _publish(settings, agreement, [restamped(e) for e in events])
    runs: dict[str, Any] = {}
    for count in (1, 2):
        runs[str(count)] = _run(settings, start, count, workdir / f"workers-{count}")
    one, two = runs["1"]["events_per_s"], runs["2"]["events_per_s"]
    return {
        "province": PROVINCE,
        "partitions": len(start),
        "events": len(events),
        "runs": runs,
        "ratio": round(two / one, 2),
        "target": TARGET,
    }


def _run(settings: Settings, start: dict[Any, int], count: int, workdir: Path) -> dict[str, Any]:
    group = f"hx.bench.workers.{count}.{uuid.uuid4().hex[:8]}"
    start_group_at(settings, group, start)
    extra = ["--no-outbound"] + (["--workers", str(count)] if count > 1 else [])
    bridge = BridgeProcess(settings, PROVINCE, group, workdir, max_idle=IDLE_STOP_S, extra=extra)
    bridge.wait(timeout_s=300)
    lines = bridge.lines()
    assigned = [_stamp(x) for x in lines if x.get("event") == "partitions_assigned"]
    stamps = sorted(_stamp(x) for x in lines if x.get("event") == "bridge_message")
    if not assigned or len(stamps) < 2:
        raise BenchFailed(f"bridge of {count} worker(s) finished {len(stamps)}: {bridge.tail()}")
    settled, split = _settled(lines, count)
    steady = [s for s in stamps if s >= settled]
    if len(steady) < 2 or steady[-1] <= settled:
        # Done before the group settled (the suite's tiny run): from the first assignment.
        settled, steady = min(assigned), [s for s in stamps if s >= min(assigned)]
    seconds = steady[-1] - settled
    if seconds <= 0:
        raise BenchFailed(f"{count} worker(s): no message after the partitions were assigned")
    out: dict[str, Any] = {
        "records": len(stamps),
        "records_measured": len(steady),
        "events_per_s": round(len(steady) / seconds),
        # CPU of the bridge's processes over the same span (sampled every 0.1 s; start-up,
        # the idle wait before the stop and the shutdown left out): what the records cost,
        # whatever else shared the cores.
        "cpu_ms_per_event": round(
            _cpu_between(bridge, settled, steady[-1]) * 1000 / len(steady), 3
        ),
        "peak_rss_mb": round(bridge.peak_rss_kb / 1024, 1),
        # How the group spread the partitions (the range assignor splits each topic: a
        # 3-partition inbox gives one worker 2 and the other 1) and the records measured.
        "partitions_per_worker": split,
        "records_per_worker": _records_per_worker(lines, settled, len(split)),
    }
    if count > 1:
        out["supervisor_peak_rss_mb"] = out.pop("peak_rss_mb")
        out["workers_peak_rss_mb"] = sorted(
            round(kb / 1024, 1) for kb in bridge.children_peak_rss_kb.values()
        )
    return out


def _cpu_between(bridge: BridgeProcess, start: float, end: float) -> float:
    """CPU seconds of the bridge's processes between two moments (Unix time): the samples
    nearest before ``start`` and after ``end`` (every 0.1 s)."""
    samples = bridge.cpu_samples
    before = [cpu for at, cpu in samples if at <= start]
    after = [cpu for at, cpu in samples if at >= end]
    last = after[0] if after else (samples[-1][1] if samples else 0.0)
    return max(0.0, last - (before[-1] if before else 0.0))


def _settled(lines: list[dict[str, Any]], count: int) -> tuple[float, list[int]]:
    """When every worker first held partitions (the group's steady assignment), and each
    worker's share then. Not the last assignment: a worker that goes idle first leaves the
    group (``--until-idle``) and the other is assigned everything for the tail."""
    held: dict[int, int] = {}
    for line in sorted(lines, key=lambda x: x.get("timestamp", "")):
        if line.get("event") != "partitions_assigned":
            continue
        held[int(line.get("worker", 1))] = len(line.get("partitions", []))
        if len(held) == count and all(held.values()):
            return _stamp(line), [held[w] for w in sorted(held)]
    # Done before every worker held a partition (the suite's tiny run): the first one.
    first = min(_stamp(x) for x in lines if x.get("event") == "partitions_assigned")
    return first, [held[w] for w in sorted(held)]


def _records_per_worker(lines: list[dict[str, Any]], settled: float, workers: int) -> list[int]:
    """The records each worker (1 to ``workers``) finished from ``settled`` on."""
    records = [0] * workers
    for line in lines:
        worker = int(line.get("worker", 1))
        counted = line.get("event") == "bridge_message" and 1 <= worker <= workers
        if counted and _stamp(line) >= settled:
            records[worker - 1] += 1
    return records


def _stamp(line: dict[str, Any]) -> float:
    return datetime.fromisoformat(line["timestamp"]).timestamp()


def _publish(settings: Settings, agreement: Agreement, events: list[ExchangeEvent]) -> None:
    with Publisher(settings, agreement, signer=agreement_signers(settings, agreement)) as pub:
        failed = [o.error for o in pub.publish_many(events) if o.error is not None]
    if failed:
        raise BenchFailed(f"publishing the workers' input: {len(failed)} failed: {failed[0]}")
