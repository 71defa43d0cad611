"""hxbus on both Kafka transports beside both raw clients: same run, same events.

Publish: four sides over the very same messages, rounds alternating (raw kafka-python,
hxbus on kafka-python, raw confluent-kafka, hxbus on librdkafka, again...) so a busy
moment of the shared machine falls on all of them; medians reported. Each raw side has
its transport's own producer settings with the Publisher's options. Bridge: one
province's bridge (directory sink) on each transport over the same records, each under
a fresh group started at the same offsets.

Targets (issue 21; reported, never asserted): hxbus on librdkafka >= 1.5x raw
kafka-python and >= 0.5x raw confluent-kafka; on kafka-python >= 0.7x raw kafka-python; the
bridge on librdkafka >= 1.3x the same bridge on kafka-python. Without confluent-kafka
installed the section says so and measures nothing.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.events import restamped
from bench.offsets import end_offsets, start_group_at
from bench.processes import BridgeProcess
from bench.publish import _hxbus_seconds
from bridge import bridge_topics
from producers import MessageBuilder, Publisher, producer_overrides
from runtime import Settings, agreement_signers
from runtime.kafka import raw, transport
from schemas import Agreement, ExchangeEvent
from schemas.errors import BenchFailed, ConfigError

#: Seconds without a message after which a bench bridge stops by itself.
IDLE_STOP_S = 3.0
SIDES = ("raw_kafka_python", "hxbus_kafka_python", "raw_librdkafka", "hxbus_librdkafka")


def librdkafka_installed(settings: Settings) -> bool:
    try:
        transport(_on(settings, "librdkafka"))
    except ConfigError:  # the extra is not installed
        return False
    return True


def _on(settings: Settings, client: str) -> Settings:
    return settings.model_copy(update={"kafka_client": client})


def publish_on_both(
    settings: Settings, agreement: Agreement, events: list[ExchangeEvent], *, rounds: int
) -> dict[str, Any]:
    """Events/s of the four sides over ``events``, and the ratios of the targets."""
    from runtime.kafka import librdkafka_raw  # the extra: imported only when installed

    signer = agreement_signers(settings, agreement)
    builder = MessageBuilder(agreement, signer=signer)
    messages = [message for event in events for message in builder.build(event)[1]]
    topics = sorted({message.topic for message in messages})
    as_raw = [(m.topic, m.key, m.value, m.headers) for m in messages]
    rates: dict[str, list[float]] = {side: [] for side in SIDES}
    #: CPU of this process (every thread: the clients' own included) per event. The
    #: shared machine's load moves the rates; the CPU an event costs each side moves less.
    cpu_us: dict[str, list[float]] = {side: [] for side in SIDES}
    kp, rd = _on(settings, "kafka-python"), _on(settings, "librdkafka")
    raw_kp = raw.RawProducer(kp, producer_overrides())
    raw_rd = librdkafka_raw.RawProducer(rd, producer_overrides())
    try:
        raw_kp.warm_up(topics)
        raw_rd.warm_up(topics)
        with (
            Publisher(kp, agreement, signer=signer) as pub_kp,
            Publisher(rd, agreement, signer=signer) as pub_rd,
        ):
            pub_kp.warm_up(topics)
            pub_rd.warm_up(topics)
            runs: dict[str, Callable[[], float]] = {
                "raw_kafka_python": lambda: raw_kp.send_all(as_raw),
                "hxbus_kafka_python": lambda: _hxbus_seconds(pub_kp, events),
                "raw_librdkafka": lambda: raw_rd.send_all(as_raw),
                "hxbus_librdkafka": lambda: _hxbus_seconds(pub_rd, events),
            }
            for _ in range(rounds):
                for side in SIDES:
                    cpu_before = time.process_time()
                    rates[side].append(len(events) / runs[side]())
                    cpu_us[side].append((time.process_time() - cpu_before) / len(events) * 1e6)
    finally:
        raw_kp.close()
        raw_rd.close()
    median = {side: statistics.median(r) for side, r in rates.items()}
    return {
        "events": len(events),
        "messages": len(messages),
        "rounds": rounds,
        **{f"{side}_events_per_s": round(rate) for side, rate in median.items()},
        "ratios": {
            "hxbus_librdkafka_vs_raw_kafka_python": _ratio(
                median, "hxbus_librdkafka", "raw_kafka_python"
            ),
            "hxbus_librdkafka_vs_raw_librdkafka": _ratio(
                median, "hxbus_librdkafka", "raw_librdkafka"
            ),
            "hxbus_kafka_python_vs_raw_kafka_python": _ratio(
                median, "hxbus_kafka_python", "raw_kafka_python"
            ),
            "raw_librdkafka_vs_raw_kafka_python": _ratio(
                median, "raw_librdkafka", "raw_kafka_python"
            ),
        },
        "rounds_per_side": {side: [round(r) for r in rates[side]] for side in SIDES},
        "cpu_us_per_event": {side: round(statistics.median(cpu_us[side])) for side in SIDES},
    }


def _ratio(median: dict[str, float], top: str, bottom: str) -> float:
    return round(median[top] / median[bottom], 3)


def bridge_on_both(
    settings: Settings,
    agreement: Agreement,
    events: list[ExchangeEvent],
    province: str,
    workdir: Path,
) -> dict[str, Any]:
    """One province's bridge on each transport over the same records: events/s, ratio."""
    from runtime.kafka import librdkafka_raw

    topics = sorted(bridge_topics(agreement, province))
    start = end_offsets(settings, topics)
    run = uuid.uuid4().hex[:8]
    groups = {c: f"hx.bench.{province.lower()}.{c}.{run}" for c in ("kafka-python", "librdkafka")}
    for group in groups.values():
        start_group_at(settings, group, start)
    signer = agreement_signers(settings, agreement)
    with Publisher(settings, agreement, signer=signer) as publisher:
        failed = [
            o.error for o in publisher.publish_many([restamped(e) for e in events]) if o.error
        ]
    if failed:
        raise BenchFailed(f"publishing the bridges' input: {len(failed)} failed: {failed[0]}")
    end = end_offsets(settings, topics)
    span = {tp: (start[tp], end[tp]) for tp in start}
    out: dict[str, Any] = {"province": province}
    raw_reads = {
        "kafka-python": raw.raw_read(_on(settings, "kafka-python"), span),
        "librdkafka": librdkafka_raw.raw_read(_on(settings, "librdkafka"), span),
    }
    for client, group in groups.items():
        bridge = BridgeProcess(
            _on(settings, client), province, group, workdir / client, max_idle=IDLE_STOP_S
        )
        bridge.wait(timeout_s=300)
        count, seconds = bridge.message_span()
        if count < 2 or seconds <= 0:
            raise BenchFailed(f"bridge {province} on {client}: {count} messages: {bridge.tail()}")
        raw_count, raw_s = raw_reads[client]
        out[client] = {
            "records": count,
            "bridge_events_per_s": round(count / seconds),
            "raw_read_events_per_s": round(raw_count / raw_s),
            "peak_rss_mb": round(bridge.peak_rss_kb / 1024, 1),
        }
    out["ratio_librdkafka_vs_kafka_python"] = round(
        out["librdkafka"]["bridge_events_per_s"] / out["kafka-python"]["bridge_events_per_s"], 3
    )
    return out


def transports(
    settings: Settings,
    agreement: Agreement,
    events: list[ExchangeEvent],
    *,
    publish_events: int,
    rounds: int,
    bridge_events: int,
    workdir: Path,
) -> dict[str, Any]:
    """The whole section; ``{"skipped": why}`` without confluent-kafka."""
    if not librdkafka_installed(settings):
        return {"skipped": "confluent-kafka is not installed: pip install 'hxbus[librdkafka]'"}
    started = time.monotonic()
    result: dict[str, Any] = {
        "publish": publish_on_both(settings, agreement, events[:publish_events], rounds=rounds),
        "bridge": bridge_on_both(
            settings, agreement, events[:bridge_events], next(iter(agreement.provinces)), workdir
        ),
    }
    result["seconds"] = round(time.monotonic() - started, 1)
    return result
