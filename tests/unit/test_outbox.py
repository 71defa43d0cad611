"""The outbox: local files become published events; sent, rejected, retried, never lost.

The Publisher is the real one (validation, routing, encoding, headers); only the
``runtime.kafka`` producer under it is a fake that acknowledges, or times out, every send.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bridge.outbox import FileOutcome, OutboxPublisher
from bridge.profiles.henan import HenanProfile
from producers import Publisher
from runtime import Settings
from schemas import Agreement, Envelope, ExchangeEvent
from schemas.audiences import AudienceBook, broadcast_audience
from schemas.errors import BrokerUnavailable

SHANGQIU = "411400000000"
CHANGED_AT = datetime(2026, 11, 20, 1, 15, tzinfo=UTC)


@dataclass(frozen=True)
class Metadata:
    topic: str
    partition: int
    offset: int


@dataclass
class Future:
    metadata: Metadata | None = None
    error: Exception | None = None
    is_done: bool = True

    def get(self, timeout_s: float | None = None) -> Metadata:
        if self.error is not None:
            raise self.error
        assert self.metadata is not None
        return self.metadata


@dataclass
class FakeProducer:
    """Acknowledges every send (or, when ``down``, times every send out)."""

    down: bool = False
    sent: list[tuple[str, bytes, dict[str, bytes]]] = field(default_factory=list)

    def send(
        self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]]
    ) -> Future:
        if self.down:
            return Future(error=BrokerUnavailable("delivery timed out"))
        self.sent.append((topic, key, dict(headers)))
        return Future(Metadata(topic, 0, len(self.sent) - 1))

    def flush(self, timeout: float | None = None) -> None:
        """Nothing is buffered."""

    def ce_ids(self) -> list[str]:
        return [headers["ce_id"].decode() for _, _, headers in self.sent]


#: The alert the outbox's status changes are about: a broadcast alert of Shangqiu's, as the
#: outbound side learns it from the alert register at start.
ALERT_ID = "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31"


def status_line(message_id: str, *, agency: str = SHANGQIU, source: str = SHANGQIU) -> bytes:
    """One Henan BKZT line: an alert withdrawn by ``agency``, sent by ``source``."""
    record: dict[str, Any] = {
        "alert_id": ALERT_ID,
        "alert_kind": "PERSON",
        "status": "WITHDRAWN",
        "reason": "嫌疑人已到案",
        "changed_at": CHANGED_AT,
        "agency": agency,
    }
    envelope = Envelope("AlertStatusChange", source, message_id, created_at=CHANGED_AT)
    return HenanProfile().to_local(ExchangeEvent(envelope, record)).content


def known_alert() -> AudienceBook:
    """What the outbound side knows at start: ALERT_ID is a broadcast alert of Shangqiu."""
    return AudienceBook([broadcast_audience(ALERT_ID, "PERSON", SHANGQIU, 1)])


def message_id(number: int) -> str:
    return f"6f1c1d7e-2b1a-4c55-9a51-{number:012d}"


@pytest.fixture
def producer() -> FakeProducer:
    return FakeProducer()


@pytest.fixture
def outbox(tmp_path: Path, producer: FakeProducer, agreement: Agreement) -> OutboxPublisher:
    publisher = Publisher(Settings(), agreement, producer=producer, audiences=known_alert())
    return OutboxPublisher(tmp_path, HenanProfile(agreement), publisher, agreement, province="HA")


def drop(outbox: OutboxPublisher, name: str, content: bytes) -> Path:
    path = outbox.outbox / name
    path.write_bytes(content)
    return path


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_a_valid_file_is_published_with_its_local_id_and_moved_to_sent(
    outbox: OutboxPublisher, producer: FakeProducer
) -> None:
    """Every event acknowledged: the file is in sent/, the event keeps the local message id."""
    content = status_line(message_id(1))
    drop(outbox, "batch.dat", content)
    first, second = outbox.scan(), outbox.scan()
    assert ([], [(FileOutcome.SENT, 1, 0)]) == (
        first,
        [(r.outcome, r.published, r.rejected) for r in second],
    )
    assert ([message_id(1)], ["hx.alerts.person"]) == (
        producer.ce_ids(),
        [topic for topic, _, _ in producer.sent],
    )
    assert ([], ["batch.dat"], []) == (
        names(outbox.outbox),
        names(outbox.sent),
        names(outbox.rejected),
    )
    assert content == (outbox.sent / "batch.dat").read_bytes()


def test_an_invalid_file_goes_to_rejected_with_an_error_naming_the_field(
    outbox: OutboxPublisher, producer: FakeProducer
) -> None:
    """An event that breaks a rule is not published; the error file names line and field."""
    content = status_line(message_id(2), agency="411500000000")
    path = drop(outbox, "bad.dat", content)
    report = outbox.process(path)
    error_text = (outbox.rejected / "bad.dat.error.txt").read_text(encoding="utf-8")
    assert (FileOutcome.REJECTED, []) == (report.outcome, producer.sent)
    assert (["bad.dat", "bad.dat.error.txt"], content) == (
        names(outbox.rejected),
        (outbox.rejected / "bad.dat").read_bytes(),
    )
    problem = error_text.splitlines()[1]
    assert (True, True) == (
        problem.startswith("line 1: "),
        "agency: is not an agency" in problem,
    )


def test_a_henan_batch_with_one_bad_line_sends_the_good_and_copies_the_bad(
    outbox: OutboxPublisher, producer: FakeProducer
) -> None:
    """Good lines are published and the file goes to sent/; the bad line is copied out."""
    good_1, good_3 = status_line(message_id(1)), status_line(message_id(3))
    bad_2 = status_line(message_id(2)).replace(b"RYCX", b"RYXX")
    content = good_1 + bad_2 + good_3
    path = drop(outbox, "batch.dat", content)
    report = outbox.process(path)
    error_lines = (outbox.rejected / "batch.dat.error.txt").read_text("utf-8").splitlines()
    assert (FileOutcome.PARTLY_REJECTED, 2, 1) == (
        report.outcome,
        report.published,
        report.rejected,
    )
    assert [message_id(1), message_id(3)] == producer.ce_ids()
    assert (content, bad_2) == (
        (outbox.sent / "batch.dat").read_bytes(),
        (outbox.rejected / "batch.dat").read_bytes(),
    )
    assert ["line 2: status: not a code of this local format"] == error_lines[1:]


def test_a_file_stays_in_the_outbox_until_the_broker_acknowledges_it(
    tmp_path: Path, agreement: Agreement
) -> None:
    """Broker down: the file stays; after a restart it is published under the same ids."""
    down = FakeProducer(down=True)
    first = OutboxPublisher(
        tmp_path,
        HenanProfile(agreement),
        Publisher(Settings(), agreement, producer=down, audiences=known_alert()),
        agreement,
        province="HA",
    )
    drop(first, "batch.dat", status_line(message_id(1)) + status_line(message_id(2)))
    first.scan()
    retried = first.scan()
    assert ([FileOutcome.RETRY], ["batch.dat"], []) == (
        [r.outcome for r in retried],
        names(first.outbox),
        names(first.sent),
    )

    up = FakeProducer()
    restarted = OutboxPublisher(
        tmp_path,
        HenanProfile(agreement),
        Publisher(Settings(), agreement, producer=up, audiences=known_alert()),
        agreement,
        province="HA",
    )
    restarted.scan()
    assert [FileOutcome.SENT] == [r.outcome for r in restarted.scan()]
    assert ([message_id(1), message_id(2)], ["batch.dat"]) == (up.ce_ids(), names(first.sent))


def test_only_stable_visible_files_are_taken(outbox: OutboxPublisher) -> None:
    """Dot-files and .part files are never taken; a growing file waits until it is still."""
    drop(outbox, ".hidden.dat", status_line(message_id(1)))
    drop(outbox, "writing.dat.part", status_line(message_id(2)))
    growing = drop(outbox, "growing.dat", status_line(message_id(3)))
    outbox.scan()
    with growing.open("ab") as file:
        file.write(status_line(message_id(4)))
    still_growing = outbox.scan()
    settled = outbox.scan()
    assert ([], ["growing.dat"]) == ([r.name for r in still_growing], [r.name for r in settled])
    assert [".hidden.dat", "writing.dat.part"] == sorted(p.name for p in outbox.outbox.iterdir())


def test_an_event_from_another_province_is_rejected(
    outbox: OutboxPublisher, producer: FakeProducer
) -> None:
    """The Henan outbox does not publish in the name of a Jiangsu agency."""
    xuzhou = "320300000000"
    path = drop(outbox, "foreign.dat", status_line(message_id(5), agency=xuzhou, source=xuzhou))
    report = outbox.process(path)
    error_text = (outbox.rejected / "foreign.dat.error.txt").read_text("utf-8")
    assert (FileOutcome.REJECTED, []) == (report.outcome, producer.sent)
    assert "line 1: source: is not an agency of this province" in error_text


def test_a_name_taken_in_sent_is_never_overwritten(outbox: OutboxPublisher) -> None:
    """A second file of the same name lands beside the first, under a numbered name."""
    (outbox.sent / "batch.dat").write_bytes(b"yesterday's batch")
    content = status_line(message_id(6))
    report = outbox.process(drop(outbox, "batch.dat", content))
    assert (outbox.sent / "batch.1.dat", b"yesterday's batch", content) == (
        report.moved_to,
        (outbox.sent / "batch.dat").read_bytes(),
        (outbox.sent / "batch.1.dat").read_bytes(),
    )


def test_a_move_interrupted_by_a_crash_is_finished_not_duplicated(
    outbox: OutboxPublisher, producer: FakeProducer
) -> None:
    """A crash between link and unlink left the file in both places: the next pass ends it."""
    path = drop(outbox, "batch.dat", status_line(message_id(7)))
    os.link(path, outbox.sent / "batch.dat")  # what the crashed pass had done
    report = outbox.process(path)
    assert (FileOutcome.SENT, [], ["batch.dat"]) == (
        report.outcome,
        names(outbox.outbox),
        names(outbox.sent),
    )
    assert [message_id(7)] == producer.ce_ids()  # republished; receivers dedupe on the id
