"""hx_published_total counts each event a Publisher finished with, by source agency,
event type and outcome (ok / rejected), at the one place outcomes are known."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from prometheus_client import REGISTRY

from producers import Publisher, SyntheticTraffic
from runtime import Settings
from schemas import Agreement, ExchangeEvent

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


class AckingProducer:
    """Acknowledges every send at once, at offset 0 of partition 0."""

    def send(self, topic: str, **_kwargs: Any) -> Any:
        metadata = SimpleNamespace(topic=topic, partition=0, offset=0)
        return SimpleNamespace(is_done=True, get=lambda timeout=None: metadata)

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        return None


def _count(event: ExchangeEvent, outcome: str) -> float:
    labels = {
        "agency": event.envelope.source,
        "event_type": event.event_type,
        "outcome": outcome,
    }
    return REGISTRY.get_sample_value("hx_published_total", labels) or 0.0


def _alert(agreement: Agreement) -> ExchangeEvent:
    for event in SyntheticTraffic(agreement, seed=5, start=START).take(300):
        if event.event_type == "VehicleAlert":
            return event
    raise AssertionError("no VehicleAlert in the synthetic traffic")


def test_an_acknowledged_event_counts_as_ok_for_its_agency(agreement: Agreement) -> None:
    """One event the broker acknowledged: ok +1 for its source agency and type."""
    event = _alert(agreement)
    before = _count(event, "ok")
    publisher = Publisher(Settings(), agreement, producer=AckingProducer())
    outcome = next(publisher.publish_many([event]))
    assert (True, before + 1) == (outcome.ok, _count(event, "ok"))


def test_an_invalid_event_counts_as_rejected(agreement: Agreement) -> None:
    """A VIN with a wrong check digit: rejected +1, ok unchanged."""
    event = _alert(agreement)
    record = copy.deepcopy(event.record)
    vin = record["vin"]
    record["vin"] = vin[:8] + ("0" if vin[8] != "0" else "1") + vin[9:]
    broken = ExchangeEvent(event.envelope, record)
    before = (_count(broken, "ok"), _count(broken, "rejected"))
    publisher = Publisher(Settings(), agreement, producer=AckingProducer())
    outcome = next(publisher.publish_many([broken]))
    assert (False, (before[0], before[1] + 1)) == (
        outcome.ok,
        (_count(broken, "ok"), _count(broken, "rejected")),
    )
