"""How the demo and the bench measure latency (issue 17): events stamped when they leave
(``producers.stamped_at``), and ``created_at`` -> the file visible in the inbox
(``bridge.inbox_latency``), the same function for both."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bridge.inbox_latency import Percentiles, file_latencies_ms
from hxbus.demo import Summary, latency_line
from producers import SyntheticTraffic, stamped_at
from schemas import Agreement, validate_event, validate_record

START = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


def test_stamped_at_moves_created_at_and_every_record_time_alike(agreement: Agreement) -> None:
    """created_at becomes the send time; each record time moves by as much; ids stay."""
    later = START + timedelta(seconds=7, milliseconds=250)
    failures = []
    for event in SyntheticTraffic(agreement, seed=5, start=START).take(200):
        stamped = stamped_at(event, later)
        shift = later - event.envelope.created_at
        times = [(k, v) for k, v in event.record.items() if isinstance(v, datetime)]
        moved = [(k, v + shift) for k, v in times]
        if (stamped.envelope.message_id, stamped.envelope.created_at, moved) != (
            event.envelope.message_id,
            later,
            [(k, stamped.record[k]) for k, _ in times],
        ):
            failures.append(event.envelope.message_id)
        validate_record(stamped.event_type, stamped.record, agreement, now=later)
        validate_event(stamped.envelope, stamped.record, agreement)
    assert [] == failures


def test_file_latency_is_ctime_minus_created_at_of_known_messages(tmp_path: Path) -> None:
    """Only files of messages the caller sent count; dot-files (not delivered yet) never."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("a.json", "b.xml", ".hx-c.tmp", "second-notice.json"):
        (inbox / name).write_text("{}")
    created = {"a": 1_000.0, "b": 2_000.0, ".hx-c": 0.0}
    expected = sorted(
        (os.stat(inbox / name).st_ctime_ns / 1e9 - sent) * 1000
        for name, sent in (("a.json", 1_000.0), ("b.xml", 2_000.0))
    )
    assert expected == sorted(file_latencies_ms(inbox, created))


def test_percentiles_are_nearest_rank_and_none_without_files() -> None:
    """p50 of 1..100 ms is the 51st value (as the bench always reported it); none: None."""
    assert (Percentiles(100, 51.0, 96.0, 100.0, 100.0), None) == (
        Percentiles.of(float(v) for v in range(1, 101)),
        Percentiles.of([]),
    )


def test_latency_line_names_the_measure_all_provinces_and_each() -> None:
    """The summary line says what was measured, over how many files, then per province."""
    summary = Summary(
        latency=Percentiles(3, 12.3, 20.0, 25.6, 25.6),
        latency_by_province={"JS": Percentiles(3, 12.3, 20.0, 25.6, 25.6)},
    )
    assert (
        "end-to-end latency (created_at -> file visible in the inbox, second notices left "
        "out): p50 12 ms, p99 26 ms over 3 files (p50/p99 by province: JS 12 ms/26 ms)"
    ) == latency_line(summary)
