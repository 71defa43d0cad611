"""Bridge throughput per province against a raw kafka-python read of the same records.

The events are published once (by the Publisher) onto the agreement's topics. Each
province's bridge (``hxbus bridge run --no-outbound``, directory sink with its fsync
policy) then reads
them under a fresh group started where the publishing began, and stops when idle; its
rate is the messages it finished over the span between its first and its last
``bridge_message``. The raw side is a group-less ``KafkaConsumer`` (the same consumer
settings) assigned the same partitions from the same offsets, that only reads the
records up to the end offsets seen after publishing. A province filters what is not for
it (counted, never delivered): the rate counts every record read, on both sides.
Peak RSS is the bridge's ``VmHWM`` under that load. Both sides' CPU time per record is
reported too (``cpu_ratio``: raw CPU per record over the bridge's): on a machine whose
load moves, the rates move with it and the CPU figures much less.

With ``HX_BENCH_BASELINE`` set to the source tree of another commit (``git archive C |
tar -x -C DIR``), each province's bridge of that tree reads the same records too, under
its own fresh group, right after this one: the before/after of a change in one run.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from bench.events import restamped
from bench.offsets import end_offsets, start_group_at
from bench.processes import BridgeProcess
from bridge import bridge_topics
from producers import Publisher
from runtime import Settings, agreement_signers
from runtime.kafka.raw import raw_read
from schemas import Agreement, ExchangeEvent
from schemas.errors import BenchFailed

#: Seconds without a message after which a bench bridge stops by itself.
IDLE_STOP_S = 3.0
#: The inbound side alone (``--no-outbound``): the outbound side's start-up read of its
#: inboxes' copies runs on a thread of the same process, and on a broker holding the
#: history of earlier runs it competes with the inbound loop for the GIL for most of
#: the measured span (docs/benchmarks.md, bridge profile, issue 17); what is measured
#: here is the inbound path. ``HX_BENCH_OUTBOUND=1`` measures the command as deployed.
OUTBOUND = os.environ.get("HX_BENCH_OUTBOUND") == "1"


def bridge_throughput(
    settings: Settings,
    agreement: Agreement,
    events: list[ExchangeEvent],
    provinces: list[str],
    workdir: Path,
) -> dict[str, Any]:
    """Per province: bridge and raw events/s over the same records, ratio, peak RSS."""
    topics = sorted({t for p in provinces for t in bridge_topics(agreement, p)})
    start = end_offsets(settings, topics)
    run = uuid.uuid4().hex[:8]
    baseline = os.environ.get("HX_BENCH_BASELINE")
    sides = {"": None} if not baseline else {"": None, ".before": Path(baseline)}
    groups = {(p, s): f"hx.bench.{p.lower()}.{run}{s}" for p in provinces for s in sides}
    for (province, _), group in groups.items():
        mine = set(bridge_topics(agreement, province))
        start_group_at(settings, group, {tp: o for tp, o in start.items() if tp.topic in mine})
    _publish(settings, agreement, [restamped(e) for e in events])
    end = end_offsets(settings, topics)
    results: dict[str, Any] = {}
    for index, province in enumerate(provinces):
        mine = set(bridge_topics(agreement, province))
        span = {tp: (start[tp], end[tp]) for tp in start if tp.topic in mine}
        raw_cpu: list[float] = []
        raw_count, raw_s = raw_read(settings, span, cpu=raw_cpu)
        raw_rate = raw_count / raw_s
        raw_cpu_us = raw_cpu[0] / raw_count * 1e6
        # Which bridge reads first alternates from province to province: the first of
        # the two may meet a colder machine.
        order = list(sides.items())
        if index % 2:
            order.reverse()
        for side, source in order:
            group = groups[(province, side)]
            bridge = BridgeProcess(
                settings,
                province,
                group,
                workdir,
                max_idle=IDLE_STOP_S,
                source=source,
                extra=() if OUTBOUND else ("--no-outbound",),
            )
            bridge.wait(timeout_s=300)
            count, seconds = bridge.message_span()
            if count < 2 or seconds <= 0:
                raise BenchFailed(f"bridge {province} finished {count} messages: {bridge.tail()}")
            delivered = sum(1 for _ in (bridge.root / "inbox").glob("[!.]*"))
            bridge_rate = count / seconds
            cpu_us = bridge.message_cpu_s() / count * 1e6
            results[province + side] = {
                "records": count,
                "delivered_files": delivered,
                "raw_events_per_s": round(raw_rate),
                "bridge_events_per_s": round(bridge_rate),
                "ratio": round(bridge_rate / raw_rate, 3),
                # CPU per record (the bench process's for the raw read): what one core
                # would do, far steadier than the rates on a shared machine.
                "raw_cpu_us_per_event": round(raw_cpu_us, 1),
                "bridge_cpu_us_per_event": round(cpu_us, 1),
                "cpu_ratio": round(raw_cpu_us / cpu_us, 3) if cpu_us else None,
                "peak_rss_mb": round(bridge.peak_rss_kb / 1024, 1),
            }
    return results


def _publish(settings: Settings, agreement: Agreement, events: list[ExchangeEvent]) -> None:
    signer = agreement_signers(settings, agreement)
    with Publisher(settings, agreement, signer=signer) as publisher:
        errors = [o.error for o in publisher.publish_many(events) if o.error is not None]
    if errors:
        raise BenchFailed(f"publishing the bridge's input: {len(errors)} failed: {errors[0]}")
