"""Codec and translation micro-figures, without Kafka: where an event's time goes.

Per event type: Avro encode (``Codec.encode``, single-object, with its record gate),
decode (``Codec.decode``) and validation (``validate_event``: pydantic models, the
agreement's agencies, the envelope against the record), each in events/s over that
type's events of the mix. Per province: translation (``profile.to_local``) over the whole
mix, and the directory sink's durable write of a batch (``DirectorySink.deliver`` of each
file under a temporary name, then ``flush``: one data sync, the names, one directory
fsync), which is the part of a bridge's time that is the disk's.
"""

from __future__ import annotations

import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from bench.events import restamped
from bridge.profiles import LocalMessage, get_profile
from bridge.sinks import DirectorySink
from schemas import Agreement, Codec, ExchangeEvent, validate_event
from schemas.errors import TranslationError

#: Files written by the sink figure per province, as one batch.
SINK_FILES = 200


def codec_figures(
    agreement: Agreement, events: list[ExchangeEvent], *, seconds: float
) -> dict[str, dict[str, int]]:
    """Per event type: encode, decode and validation events/s."""
    codec = Codec()
    by_type: dict[str, list[ExchangeEvent]] = defaultdict(list)
    for event in events:
        by_type[event.event_type].append(validate_event(event.envelope, event.record, agreement))
    figures = {}
    for event_type, typed in sorted(by_type.items()):
        values = [codec.encode(event_type, e.record) for e in typed]
        figures[event_type] = {
            "events": len(typed),
            "encode_per_s": _rate(typed, lambda e: codec.encode(e.event_type, e.record), seconds),
            "decode_per_s": _rate(values, codec.decode, seconds),
            "validate_per_s": _rate(
                typed, lambda e: validate_event(e.envelope, e.record, agreement), seconds
            ),
        }
    return figures


def translation_figures(
    agreement: Agreement, events: list[ExchangeEvent], *, seconds: float
) -> dict[str, dict[str, Any]]:
    """Per province: ``to_local`` events/s over the mix, and durable sink writes/s."""
    checked = [validate_event(e.envelope, e.record, agreement) for e in events]
    figures: dict[str, dict[str, Any]] = {}
    for key, province in agreement.provinces.items():
        profile = get_profile(province.profile, agreement)
        translatable = [e for e in checked if _translates(profile, e)]
        fresh = [restamped(e) for e in translatable[:SINK_FILES]]  # new ids: new files
        figures[key] = {
            "profile": profile.name,
            "untranslatable": len(checked) - len(translatable),
            "to_local_per_s": _rate(translatable, profile.to_local, seconds),
            "sink_files_per_s": _sink_rate([(profile.to_local(e), e) for e in fresh]),
        }
    return figures


def _translates(profile: Any, event: ExchangeEvent) -> bool:
    try:
        profile.to_local(event)
    except TranslationError:
        return False
    return True


def _sink_rate(messages: list[tuple[LocalMessage, ExchangeEvent]]) -> int:
    """Files/s the directory sink makes durable as one batch (as a bridge's)."""
    with tempfile.TemporaryDirectory(prefix="hx-bench-sink-") as root:
        sink = DirectorySink(root)
        started = time.perf_counter()
        for local, event in messages:
            sink.deliver(local, event.envelope)
        sink.flush()
        elapsed = time.perf_counter() - started
        sink.close()
    return round(len(messages) / elapsed) if elapsed > 0 else 0


def _rate(items: Sequence[Any], call: Callable[[Any], object], seconds: float) -> int:
    """Calls per second of ``call`` over ``items``, repeated for about ``seconds``."""
    done, started = 0, time.perf_counter()
    while True:
        for item in items:
            call(item)
        done += len(items)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return round(done / elapsed)
