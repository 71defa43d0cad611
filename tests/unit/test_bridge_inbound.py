"""The inbound bridge handler without Kafka: filtering, held alerts, audit, DLQ audit."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bridge import AuditedDeadLetters, HeldAlerts, InboundBridge
from bridge.profiles import get_profile
from bridge.sinks import DirectorySink
from consumers import Delivery, Origin
from schemas import (
    Agreement,
    Codec,
    ExchangeEvent,
    envelope_headers,
    load_agreement,
    parse_event,
    record_key,
)
from schemas.errors import SecurityError, SinkUnavailable

AGREEMENT: Agreement = load_agreement()
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"
CODEC = Codec()


class AuditList:
    """The audit trail as a list: records written, and those made durable by a flush."""

    def __init__(self) -> None:
        self.written: list[dict[str, Any]] = []
        self.flushed: list[dict[str, Any]] = []

    def write(self, record: dict[str, Any]) -> None:
        self.written.append(record)

    def write_many(self, records: Sequence[dict[str, Any]]) -> None:
        self.written.extend(records)

    def flush(self) -> None:
        self.flushed = list(self.written)


class DeadLetters:
    """A DLQ that takes everything."""

    def __init__(self) -> None:
        self.sent: list[Origin] = []

    def send(self, origin: Origin, **_: Any) -> None:
        self.sent.append(origin)

    def flush(self) -> set[Origin]:
        return set()


def fixture_event(name: str) -> ExchangeEvent:
    return parse_event(json.loads((FIXTURES / name).read_text(encoding="utf-8")), AGREEMENT)


def delivery(event: ExchangeEvent, offset: int = 0) -> Delivery:
    """The event as the consumer runtime hands it over."""
    value = CODEC.encode(event.event_type, event.record)
    headers = envelope_headers(event.envelope, CODEC.fingerprint(event.event_type))
    return Delivery(
        topic="hx.alerts.person",
        partition=0,
        offset=offset,
        key=record_key(event.event_type, event.record),
        value=value,
        header_list=headers,
        headers=dict(headers),
        envelope=event.envelope,
        event_type=event.event_type,
        record=event.record,
        timestamp=datetime.now(UTC),
    )


def withdrawal_of(alert: ExchangeEvent) -> ExchangeEvent:
    change = fixture_event("alert_status_change_jining.json")
    record = {**change.record, "alert_id": alert.record["alert_id"], "alert_kind": "PERSON"}
    return ExchangeEvent(change.envelope, record)


def make_bridge(tmp_path: Path, province: str) -> tuple[InboundBridge, AuditList]:
    key = AGREEMENT.province_key(province)
    profile = get_profile(AGREEMENT.provinces[key].profile, AGREEMENT)
    audit = AuditList()
    held = HeldAlerts(tmp_path / "held.sqlite")
    sink = DirectorySink(tmp_path / "root")
    return InboundBridge(key, AGREEMENT, profile, sink, audit, held), audit


def inbox(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "root" / "inbox").iterdir())


def test_alert_and_its_withdrawal_in_one_batch_are_both_delivered(tmp_path: Path) -> None:
    """The withdrawal sees the alert the same batch delivered, and both are audited."""
    bridge, audit = make_bridge(tmp_path, "HA")
    alert = fixture_event("person_alert_xuzhou.json")
    change = withdrawal_of(alert)
    bridge.handle(delivery(alert, 0))
    bridge.handle(delivery(change, 1))
    bridge.flush()
    expected = sorted(f"{e.envelope.message_id}.dat" for e in (alert, change))
    assert expected == inbox(tmp_path)
    assert [
        ("DELIVERED", alert.envelope.message_id),
        ("DELIVERED", change.envelope.message_id),
    ] == [(r["outcome"], r["message_id"]) for r in audit.flushed]


def test_withdrawal_of_an_alert_never_received_is_filtered_and_not_audited(
    tmp_path: Path,
) -> None:
    """A status change of an alert this province does not hold reaches no local system."""
    bridge, audit = make_bridge(tmp_path, "SD")
    bridge.handle(delivery(withdrawal_of(fixture_event("person_alert_xuzhou.json"))))
    bridge.flush()
    assert ([], []) == (inbox(tmp_path), audit.flushed)


def test_held_alert_survives_a_restart_only_when_the_batch_was_flushed(tmp_path: Path) -> None:
    """The held-alert row is committed with the sink's flush; a failed flush rolls it back
    and audits no delivery."""
    alert = fixture_event("person_alert_xuzhou.json")
    bridge, audit = make_bridge(tmp_path, "AH")

    def failing_flush() -> None:
        raise SinkUnavailable("disk gone")

    bridge.sink.flush = failing_flush  # type: ignore[method-assign]
    bridge.handle(delivery(alert))
    with pytest.raises(SinkUnavailable):
        bridge.flush()
    bridge.held.close()
    assert (False, []) == (
        HeldAlerts(tmp_path / "held.sqlite").holds(alert.record["alert_id"]),
        audit.written,
    )

    again, audit = make_bridge(tmp_path, "AH")
    again.handle(delivery(alert))  # the batch comes again
    again.flush()
    again.held.close()
    assert (True, {"DELIVERED"}) == (  # one record per receiving agency, all delivered
        HeldAlerts(tmp_path / "held.sqlite").holds(alert.record["alert_id"]),
        {r["outcome"] for r in audit.flushed},
    )


def test_a_file_the_disk_refused_fails_the_batch_at_flush_with_nothing_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inbox write of the batch's second message fails on its thread (ENOSPC): handle
    returns for both, flush raises SinkUnavailable, so no file is named, no held-alert
    row kept and no delivery audited; the batch handled again is delivered whole."""
    alert = fixture_event("person_alert_xuzhou.json")
    change = withdrawal_of(alert)
    bridge, audit = make_bridge(tmp_path, "HA")
    real_write, writes = os.write, []

    def disk_full_at_second(fd: int, data: bytes) -> int:
        writes.append(fd)
        if len(writes) == 2:
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", disk_full_at_second)
    bridge.handle(delivery(alert, 0))
    bridge.handle(delivery(change, 1))
    with pytest.raises(SinkUnavailable):
        bridge.flush()
    refused = (inbox(tmp_path), bridge.held.holds(alert.record["alert_id"]), audit.flushed)

    bridge.handle(delivery(alert, 0))  # the runtime rewound: the batch comes again
    bridge.handle(delivery(change, 1))
    bridge.flush()
    assert ([], False, []) == refused
    assert (
        sorted(f"{e.envelope.message_id}.dat" for e in (alert, change)),
        [("DELIVERED", alert.envelope.message_id), ("DELIVERED", change.envelope.message_id)],
    ) == (inbox(tmp_path), [(r["outcome"], r["message_id"]) for r in audit.flushed])


def test_expired_alert_is_audited_as_a_refusal_and_not_delivered(tmp_path: Path) -> None:
    """on_expired writes an EXPIRED audit record; nothing reaches the inbox."""
    bridge, audit = make_bridge(tmp_path, "JS")
    alert = fixture_event("person_alert_xuzhou.json")
    bridge.on_expired(delivery(alert))
    bridge.flush()
    assert [("EXPIRED", alert.envelope.message_id)] == [
        (r["outcome"], r["message_id"]) for r in audit.flushed
    ]
    assert [] == inbox(tmp_path)


def refuse_forgery(audited: AuditedDeadLetters, offset: int) -> tuple[Origin, str]:
    """One forged alert (no signature) dead-lettered at ``offset``: its origin and
    message id."""
    alert = delivery(fixture_event("person_alert_xuzhou.json"), offset=offset)
    origin = Origin(alert.topic, alert.partition, offset)
    audited.send(
        origin,
        key=alert.key,
        value=alert.value,
        headers=alert.header_list,
        error=SecurityError("hx_signature: missing"),
        reason="signature",
    )
    return origin, alert.message_id


def test_dead_lettered_forgery_is_audited_as_security_rejected(tmp_path: Path) -> None:
    """A message the runtime dead-letters for its signature gets a SECURITY_REJECTED record."""
    bridge, audit = make_bridge(tmp_path, "JS")
    dlq = DeadLetters()
    audited = AuditedDeadLetters(dlq, bridge)
    origin, message_id = refuse_forgery(audited, offset=0)
    assert set() == audited.flush()
    assert [origin] == dlq.sent
    assert [("SECURITY_REJECTED", message_id)] == [
        (r["outcome"], r["message_id"]) for r in audit.flushed
    ]
