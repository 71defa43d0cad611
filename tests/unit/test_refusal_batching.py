"""A refusal costs about what a delivery costs: its audit record, DLQ entry and log line
go out with the batch (bridge.refusals, consumers.failures, consumers.dlq), and the
register lookup's "reading behind" question is answered once per batch."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog
from test_bridge_inbound import (
    AuditList,
    DeadLetters,
    make_bridge,
    refuse_forgery,
)

from bridge import AuditedDeadLetters
from consumers import Origin, dead_letter_headers
from consumers.alert_register import AlertRegister, RegisterLookup
from consumers.batch_work import PartitionWork, RunStats
from consumers.failures import Failures
from consumers.reading import Poison
from consumers.retry import RetryPolicy
from runtime.kafka import Record, TopicPartition
from runtime.logging import configure_logging, info_lines
from schemas.errors import AuthorityRefused, BrokerError, SecurityError

ALERT_ID = "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31"


def test_a_batchs_refusal_records_are_sent_together_at_its_flush(tmp_path: Path) -> None:
    """AuditedDeadLetters: no refusal record is written before the batch's flush; the flush
    writes them all, in the order of their refusals, and makes them durable."""
    bridge, audit = make_bridge(tmp_path, "JS")
    audited = AuditedDeadLetters(DeadLetters(), bridge)
    refused = [refuse_forgery(audited, offset) for offset in (4, 5)]
    written_before = len(audit.written)
    not_acked = audited.flush()
    assert (0, set(), [("SECURITY_REJECTED", m, o.offset) for o, m in refused]) == (
        written_before,
        not_acked,
        [(r["outcome"], r["message_id"], r["source_offset"]) for r in audit.flushed],
    )


class _RefusingAudit(AuditList):
    """An audit whose broker refuses the batch's records when they are sent."""

    def write_many(self, records: Sequence[dict[str, Any]]) -> None:
        if records:
            raise BrokerError("send to hx.audit: broker away")


class _CountingDeadLetters(DeadLetters):
    """A DLQ that counts its flushes."""

    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> set[Origin]:
        self.flushes += 1
        return set()


def test_refusals_whose_audit_records_were_not_sent_are_not_acknowledged(
    tmp_path: Path,
) -> None:
    """AuditedDeadLetters: when the batch's refusal records cannot be sent, every refusal
    of the batch is reported not acknowledged (not committed: it comes again), and the
    DLQ's writes are still waited for."""
    bridge, _ = make_bridge(tmp_path, "JS")
    bridge.audit = _RefusingAudit()
    dlq = _CountingDeadLetters()
    audited = AuditedDeadLetters(dlq, bridge)
    origins = {refuse_forgery(audited, offset)[0] for offset in (7, 8)}
    assert (origins, 1) == (audited.flush(), dlq.flushes)


def _record(offset: int) -> Record:
    return Record("hx.inbox.320300000000", 1, offset, b"k", b"v", (), 0)


def _failures(dlq: Any, logger: Any) -> Failures:
    return Failures("bridge", dlq, RetryPolicy(), RunStats(), logger)


def test_dead_letter_lines_are_written_with_the_batch_at_its_flush() -> None:
    """Failures: a dead-lettered message's ``message_dead_lettered`` warning is written at
    the batch's flush (after the DLQ's), one per message, field path and rule only."""
    dlq = DeadLetters()
    failures = _failures(dlq, structlog.get_logger("t"))
    tp = TopicPartition("hx.inbox.320300000000", 1)
    work = PartitionWork()
    with structlog.testing.capture_logs() as captured:
        failures.dead_letter(tp, _record(3), Poison.of(SecurityError("hx_signature: bad")), work)
        refused = AuthorityRefused("not_issuer", "hit of alert 1: agency is not its issuer")
        failures.dead_letter(tp, _record(4), Poison.of(refused, "PersonAlertHit"), work)
        before_flush = len(captured)
        not_acked = failures.flush()
    assert (0, set(), [3, 4]) == (before_flush, not_acked, [o.offset for o in dlq.sent])
    assert [
        ("message_dead_lettered", "warning", 3, "signature", "SecurityError"),
        ("message_dead_lettered", "warning", 4, "not_authorized", "AuthorityRefused"),
    ] == [
        (e["event"], e["log_level"], e["offset"], e["reason"], e["error_class"]) for e in captured
    ]


def test_a_batchs_warning_lines_are_rendered_as_warnings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """info_lines(level="warning") with JSON output: each row a line at level warning."""
    configure_logging("WARNING", json=True)
    info_lines(structlog.get_logger("t"), "message_dead_lettered", [{"offset": 1}], level="warning")
    info_lines(structlog.get_logger("t"), "bridge_message", [{"offset": 2}])
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [("message_dead_lettered", "warning", 1)] == [
        (line["event"], line["level"], line["offset"]) for line in lines
    ]


class _Consumer:
    """Positions and high watermarks of two partitions; counts the questions asked."""

    def __init__(self) -> None:
        self.asked = 0
        self.tps = [TopicPartition("hx.alerts.person", 0), TopicPartition("hx.alerts.person", 1)]

    def assignment(self) -> set[TopicPartition]:
        return set(self.tps)

    def highwater(self, tp: TopicPartition) -> int | None:
        self.asked += 1
        return 10

    def position(self, tp: TopicPartition) -> int | None:
        return 10


def test_reading_behind_for_the_register_is_answered_once_per_batch() -> None:
    """Failures.reading_behind(None): asked twice in one batch, the consumer is asked
    once; a new batch (the consumer set again) asks it again."""
    failures = _failures(DeadLetters(), structlog.get_logger("t"))
    consumer = _Consumer()
    failures.consumer = consumer  # type: ignore[assignment]
    answers = [failures.reading_behind(None), failures.reading_behind(None)]
    in_one_batch = consumer.asked
    failures.consumer = consumer  # type: ignore[assignment]
    answers.append(failures.reading_behind(None))
    assert ([False, False, False], 2, 4) == (answers, in_one_batch, consumer.asked)


def test_repeated_misses_ask_behind_only_when_a_load_could_start() -> None:
    """RegisterLookup: once a load started, later repeated misses within the refresh
    interval do not ask whether the receiver is behind (a load could not start anyway)."""
    asked: list[int] = []

    def behind() -> bool:
        asked.append(1)
        return False

    lookup = RegisterLookup(AlertRegister, refresh_s=3600.0, behind=behind)
    for _ in range(5):
        lookup.alert(ALERT_ID)
        lookup.wait()
    assert 1 == len(asked)


def test_an_exchange_messages_dlq_entry_adds_no_cloudevent_headers() -> None:
    """dead_letter_headers: an original carrying every CloudEvents header gets none added
    (no fresh id), and ``hx_dlq_time`` is the batch's time text when given."""
    original = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"m-1"),
        ("ce_source", b"320300000000"),
        ("ce_type", b"PersonAlert"),
        ("ce_time", b"2026-12-05T00:00:00.000Z"),
        ("content-type", b"application/avro"),
    ]
    headers = dead_letter_headers(
        original,
        error=SecurityError("hx_signature: missing"),
        reason="signature",
        topic="hx.alerts.person",
        partition=0,
        offset=9,
        group="hx-bridge-js",
        now=datetime(2026, 12, 5, tzinfo=UTC),
        now_text="2026-12-05T00:00:00.000Z",
    )
    names = [name for name, _ in headers]
    assert (original, False, b"2026-12-05T00:00:00.000Z") == (
        headers[: len(original)],
        "hx_dlq_added" in names,
        dict(headers)["hx_dlq_time"],
    )
