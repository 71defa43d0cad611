"""The drill's HTTP local system with the real HTTP sink: 503 stores nothing; a hang past
the sink's timeout stores the message once, and the sink's retry is answered 409."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.profiles.base import LocalMessage
from bridge.sinks import DeliveryOutcome, HttpSink
from hxbus.drill import Receiver
from hxbus.drill.found import found_by_receiver
from schemas import Envelope
from schemas.errors import SinkUnavailable

MESSAGE_ID = "0d8f6c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"
ENVELOPE = Envelope(
    message_id=MESSAGE_ID,
    event_type="AlertHit",
    source="320300000000",
    created_at=datetime(2026, 12, 1, tzinfo=UTC),
    target="340600000000",
)
MESSAGE = LocalMessage(f"{MESSAGE_ID}.json", b"{}", "application/json; charset=utf-8")


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    server = Receiver(0, tmp_path / "receiver.log")
    server.start()
    yield server
    server.stop()


def _try(sink: HttpSink) -> str:
    try:
        return sink.deliver(MESSAGE, ENVELOPE).outcome.value
    except SinkUnavailable:
        return "unavailable"


def test_503_then_ok_stores_the_message_once(receiver: Receiver) -> None:
    """While answering 503 nothing is stored; the retry after is delivered, a repeat is 409."""
    with HttpSink(receiver.url) as sink:
        receiver.system.set_mode("unavailable")
        during = _try(sink)
        receiver.system.set_mode("ok")
        after, again = _try(sink), _try(sink)
    stored = found_by_receiver(receiver.system.log_path).stored[MESSAGE_ID]
    expected = ("unavailable", DeliveryOutcome.DELIVERED.value, "duplicate", 1)
    assert expected == (during, after, again, stored)


def test_hang_past_the_sink_timeout_is_retried_into_a_409(receiver: Receiver) -> None:
    """The receiver stores the POST and holds the answer; the sink times out
    (retriable); once the hang ends the retry is answered 409: stored once."""
    with HttpSink(receiver.url, read_timeout=0.5) as sink:
        receiver.system.set_mode("hang")
        during = _try(sink)
        threading.Timer(0.2, receiver.system.set_mode, ("ok",)).start()
        time.sleep(0.4)
        retry = _try(sink)
    stored = found_by_receiver(receiver.system.log_path).stored[MESSAGE_ID]
    assert ("unavailable", DeliveryOutcome.DUPLICATE.value, 1) == (during, retry, stored)
