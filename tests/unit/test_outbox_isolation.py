"""One input hxbus itself fails on is refused with its error class; its neighbours go on.

A profile or publisher that raises something other than an ``HxError`` (a bug, found or
not yet found by fuzzing) must cost only that input: a Henan batch keeps its other lines,
the outbox rejects the file and moves to the next, the outbound thread keeps scanning,
and ``hx_bridge_unexpected_errors_total`` counts each.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from test_outbox import FakeProducer, known_alert, message_id, status_line

from bridge.outbox import FileOutcome, OutboxPublisher, PublishOutcome
from bridge.profiles.henan import HenanProfile
from producers import Publisher
from runtime import Settings
from schemas import Agreement, ExchangeEvent


def unexpected(profile: str, stage: str) -> float:
    value = REGISTRY.get_sample_value(
        "hx_bridge_unexpected_errors_total", {"profile": profile, "stage": stage}
    )
    return value or 0.0


class BrokenOnSecondLine(HenanProfile):
    """Henan, with a bug that raises ZeroDivisionError while reading line 2 of a batch."""

    def from_local(self, content: bytes, origin: str) -> Iterator:  # type: ignore[type-arg]
        import bridge.profiles.henan as henan

        real = henan._event

        def flaky(record, number):  # type: ignore[no-untyped-def]
            if number == 2:
                raise ZeroDivisionError("a bug")
            return real(record, number)

        henan._event = flaky
        try:
            yield from super().from_local(content, origin)
        finally:
            henan._event = real


class ExplodingPublisher:
    """A publisher with a bug: raises KeyError for the event of one message id."""

    def __init__(self, inner: Publisher, bad_id: str) -> None:
        self._inner = inner
        self._bad_id = bad_id

    def publish_many(self, events: Iterable[ExchangeEvent]) -> Iterator[PublishOutcome]:
        listed = list(events)
        if any(e.envelope.message_id == self._bad_id for e in listed):
            raise KeyError("a bug")
        return self._inner.publish_many(listed)


def make_outbox(
    tmp_path: Path, agreement: Agreement, producer: FakeProducer, profile: HenanProfile
) -> OutboxPublisher:
    publisher = Publisher(Settings(), agreement, producer=producer, audiences=known_alert())
    return OutboxPublisher(tmp_path, profile, publisher, agreement, province="HA")


def test_a_bug_on_one_henan_line_rejects_that_line_only(
    tmp_path: Path, agreement: Agreement
) -> None:
    """Lines 1 and 3 are published; line 2 is rejected naming the error class; counted."""
    producer = FakeProducer()
    outbox = make_outbox(tmp_path, agreement, producer, BrokenOnSecondLine(agreement))
    before = unexpected("henan", "parse")
    content = status_line(message_id(1)) + status_line(message_id(2)) + status_line(message_id(3))
    (outbox.outbox / "batch.dat").write_bytes(content)
    report = outbox.process(outbox.outbox / "batch.dat")
    error = (outbox.rejected / "batch.dat.error.txt").read_text("utf-8").splitlines()[1:]
    assert (FileOutcome.PARTLY_REJECTED, [message_id(1), message_id(3)], 1.0) == (
        report.outcome,
        producer.ce_ids(),
        unexpected("henan", "parse") - before,
    )
    assert [
        "line 2: hxbus failed on this input (ZeroDivisionError); "
        "it is refused and counted, please report it"
    ] == error


def test_a_publisher_bug_on_one_file_rejects_it_and_the_next_file_goes_out(
    tmp_path: Path, agreement: Agreement
) -> None:
    """The first file's failure rejects it with the class; the second file is still sent."""
    producer = FakeProducer()
    inner = Publisher(Settings(), agreement, producer=producer, audiences=known_alert())
    outbox = OutboxPublisher(
        tmp_path,
        HenanProfile(agreement),
        ExplodingPublisher(inner, message_id(1)),
        agreement,
        province="HA",
    )
    before = unexpected("henan", "publish")
    (outbox.outbox / "a.dat").write_bytes(status_line(message_id(1)))
    (outbox.outbox / "b.dat").write_bytes(status_line(message_id(2)))
    outbox.scan()
    reports = {r.name: r.outcome for r in outbox.scan()}
    assert ({"a.dat": FileOutcome.REJECTED, "b.dat": FileOutcome.SENT}, [message_id(2)]) == (
        reports,
        producer.ce_ids(),
    )
    assert (1.0, "line 1: hxbus failed on this input (KeyError)") == (
        unexpected("henan", "publish") - before,
        (outbox.rejected / "a.dat.error.txt").read_text("utf-8").splitlines()[1].split(";")[0],
    )


def test_the_outbound_thread_survives_a_failing_scan(
    tmp_path: Path, agreement: Agreement, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scan that raises is counted; the thread scans again and publishes the next file."""
    from bridge.outbound import OutboundThread

    producer = FakeProducer()
    monkeypatch.setattr(
        "bridge.outbound.Publisher",
        lambda *a, **k: Publisher(
            Settings(), agreement, producer=producer, audiences=known_alert()
        ),
    )
    thread = OutboundThread(
        Settings(), agreement, "HA", HenanProfile(agreement), tmp_path, interval_s=0.01
    )
    real_scan = thread.outbox.scan
    calls = {"n": 0}

    def scan() -> list:  # type: ignore[type-arg]
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug in the scan")
        return real_scan()

    thread.outbox.scan = scan  # type: ignore[method-assign]
    before = unexpected("henan", "scan")
    (thread.outbox.outbox / "a.dat").write_bytes(status_line(message_id(1)))
    done = threading.Event()
    thread.start()
    for _ in range(500):
        if producer.sent:
            done.set()
            break
        threading.Event().wait(0.01)
    thread.stop()
    assert (True, None, 1.0) == (
        done.is_set(),
        thread.failure,
        unexpected("henan", "scan") - before,
    )


def test_stop_does_not_wait_for_the_audiences_read(
    tmp_path: Path, agreement: Agreement, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bridge told to stop while its outbound thread still reads where earlier alerts
    went (a minute on a broker with history) stops without waiting for that read, and the
    thread never scans afterwards."""
    from bridge.outbound import OutboundThread

    producer = FakeProducer()
    monkeypatch.setattr(
        "bridge.outbound.Publisher",
        lambda *a, **k: Publisher(Settings(), agreement, producer=producer),
    )
    reading, release, read = threading.Event(), threading.Event(), threading.Event()

    def slow_read(*args: object, **kwargs: object) -> None:
        reading.set()
        release.wait(30)
        read.set()

    monkeypatch.setattr("bridge.outbound.learn_audiences", slow_read)
    thread = OutboundThread(
        Settings(), agreement, "HA", HenanProfile(agreement), tmp_path, learn_audiences=True
    )
    scans = []

    def scan() -> list:  # type: ignore[type-arg]
        scans.append(1)
        return []

    thread.outbox.scan = scan  # type: ignore[method-assign]
    thread.start()
    assert reading.wait(10)
    thread.stop()
    stopped_while_reading = not read.is_set()
    release.set()
    thread._thread.join(10)
    assert (True, 0, False) == (stopped_while_reading, len(scans), thread._thread.is_alive())
