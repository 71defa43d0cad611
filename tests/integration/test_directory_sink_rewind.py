"""The directory sink under the consumer runtime on the real broker, its files written on
their own thread: a write the disk refuses fails its batch at flush, the runtime rewinds
the batch, and every message still lands once, whole, and only then is committed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from consumer_support import encode, fresh_topic, make_events, produce, runtime_for

import bridge.sinks.background_writes
from bridge.profiles.base import LocalMessage
from bridge.sinks import DirectorySink
from consumers import (
    Delivery,
    RetryPolicy,
)
from runtime import Settings
from runtime.kafka import Admin
from schemas import Agreement, Codec
from schemas.errors import SinkUnavailable

pytestmark = pytest.mark.broker


@pytest.fixture
def topic(settings: Settings, admin: Admin, unique_name: Callable[..., str]) -> Iterator[str]:
    """A fresh 3-partition topic, deleted (with this test's DLQ) afterwards."""
    with fresh_topic(settings, admin, unique_name(), 3) as name:
        yield name


class InboxHandler:
    """Each message's value into the inbox as ``<message id>.avro``; one flush per batch.
    Notes, each time a flush failed, which of the batch's files the inbox showed and
    which temporary files it held."""

    def __init__(self, sink: DirectorySink) -> None:
        self.sink = sink
        self.batch: list[str] = []
        self.after_failed_flush: list[tuple[list[str], list[str]]] = []

    def handle(self, message: Delivery) -> None:
        local = LocalMessage(f"{message.message_id}.avro", message.value, "avro/binary")
        self.sink.deliver(local, message.envelope)
        self.batch.append(local.file_name)

    def flush(self) -> None:
        batch, self.batch = self.batch, []
        try:
            self.sink.flush()
        except SinkUnavailable:
            names = {p.name for p in self.sink.inbox.iterdir()}
            shown = sorted(names.intersection(batch))
            self.after_failed_flush.append((shown, sorted(n for n in names if n[0] == ".")))
            raise


def test_a_refused_write_rewinds_its_batch_and_every_message_lands_once(
    settings: Settings,
    admin: Admin,
    topic: str,
    agreement: Agreement,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The 5th file write fails (ENOSPC): that batch's flush fails with nothing visible, the
    batch comes again, and all 120 messages end as one whole file each, none left hidden."""
    codec = Codec()
    events = make_events(agreement, 120, seed=17)
    raw = [encode(codec, e) for e in events]
    produce(settings, topic, raw)
    real_write, calls = bridge.sinks.background_writes.write_unsynced, []

    def disk_full_once(path: str, content: bytes, *args: Any, **kwargs: Any) -> None:
        calls.append(path)
        if len(calls) == 5:
            raise OSError(28, "No space left on device", path)
        real_write(path, content, *args, **kwargs)

    monkeypatch.setattr(bridge.sinks.background_writes, "write_unsynced", disk_full_once)
    sink = DirectorySink(tmp_path / "root")
    handler = InboxHandler(sink)
    retry = RetryPolicy(base_delay=0.05, max_delay=0.2)
    consumer, store, dlq = runtime_for(
        settings, f"g-{topic[2:]}", topic, handler, codec, retry=retry
    )
    try:
        stats = consumer.run(max_messages=len(events), idle_timeout=60)
    finally:
        store.close()
        dlq.close()
        sink.close()
    inbox = tmp_path / "root" / "inbox"
    landed = {p.name: p.read_bytes() for p in inbox.iterdir()}
    values = (value for _key, value, _headers in raw)
    expected = {f"{e.envelope.message_id}.avro": v for e, v in zip(events, values, strict=True)}
    assert ([([], [])], True, len(events), expected) == (
        handler.after_failed_flush,
        stats.retried > 0,
        stats.handled,
        landed,
    )
