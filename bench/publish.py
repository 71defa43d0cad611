"""Publish throughput: the hxbus Publisher against a raw KafkaProducer, same messages.

The raw side is the floor hxbus stands on: a kafka-python ``KafkaProducer`` with exactly
the Publisher's settings (``runtime.kafka.raw.RawProducer`` with ``producers.producer_overrides``:
acks=all, idempotence, zstd, linger, batch size, in-flight limit) sending the very
messages the Publisher would send (topic, key, value, headers), built beforehand, then
``flush()``. The hxbus side is ``Publisher.publish_many`` over the events: validation,
routing, Avro encoding, headers, signing when keys are present, and waiting for every
acknowledgement. Both are timed from the first send to the last acknowledgement; the
rounds alternate (raw, hxbus, raw, hxbus...) so a busy moment of the shared machine
falls on both, and the median of each is reported.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from producers import MessageBuilder, Publisher, producer_overrides
from runtime import Settings, agreement_signers
from runtime.kafka.raw import RawProducer
from schemas import Agreement, ExchangeEvent
from schemas.errors import BenchFailed


def publish_throughput(
    settings: Settings, agreement: Agreement, events: list[ExchangeEvent], *, rounds: int
) -> dict[str, Any]:
    """Events/s of the Publisher and of the raw producer over ``events``, and the ratio."""
    signer = agreement_signers(settings, agreement)
    builder = MessageBuilder(agreement, signer=signer)
    messages = [message for event in events for message in builder.build(event)[1]]
    topics = sorted({message.topic for message in messages})
    as_raw = [(m.topic, m.key, m.value, m.headers) for m in messages]
    raw_rates: list[float] = []
    hxbus_rates: list[float] = []
    raw = RawProducer(settings, producer_overrides())
    try:
        raw.warm_up(topics)
        with Publisher(settings, agreement, signer=signer) as publisher:
            publisher.warm_up(topics)
            for _ in range(rounds):
                raw_rates.append(len(events) / raw.send_all(as_raw))
                hxbus_rates.append(len(events) / _hxbus_seconds(publisher, events))
    finally:
        raw.close()
    raw_rate, hxbus_rate = statistics.median(raw_rates), statistics.median(hxbus_rates)
    return {
        "events": len(events),
        "messages": len(messages),
        "mean_message_bytes": round(
            statistics.mean(
                len(m.value) + len(m.key) + sum(len(k) + len(v) for k, v in m.headers)
                for m in messages
            )
        ),
        "signed": signer is not None,
        "rounds": rounds,
        "raw_events_per_s": round(raw_rate),
        "hxbus_events_per_s": round(hxbus_rate),
        "ratio": round(hxbus_rate / raw_rate, 3),
        "raw_rounds": [round(r) for r in raw_rates],
        "hxbus_rounds": [round(r) for r in hxbus_rates],
    }


def _hxbus_seconds(publisher: Publisher, events: list[ExchangeEvent]) -> float:
    started = time.perf_counter()
    errors = [o.error for o in publisher.publish_many(events) if o.error is not None]
    elapsed = time.perf_counter() - started
    if errors:
        raise BenchFailed(f"hxbus publisher: {len(errors)} events failed, first: {errors[0]}")
    return elapsed
