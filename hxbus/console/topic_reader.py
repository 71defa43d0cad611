"""The console's one topic reader: the alert topics for the register, the inboxes for flows.

One consumer, no group (nothing committed: watching is not consuming), assigned to

- the alert topics from their beginning, folded into the ``AlertBook`` (the register is
  rebuilt as ``hxbus alerts`` rebuilds it when no snapshot helps: slower, same answer);
  until it has read up to the end offsets it found at start, ``loading`` is true;
- the inbox topics of the agencies whose flows the principal may see, from their end
  (every inbox for the auditor, its own for an agency: what its broker login may read on
  a secured broker): only the headers are read, for the flows.

Alert messages count as flows too (target ``*``). The reader runs in its own thread and
never stops on a bad message: one that does not decode is counted and skipped (the DLQ is
the roles' business). When the broker fails it says so in ``error`` and starts again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import structlog
from kafka import TopicPartition

from consumers.alert_register import ALERT_TOPICS, REGISTER_TYPES
from hxbus.console.alert_book import AlertBook
from hxbus.console.flows import EVERYONE, FlowCounter
from runtime import Settings, make_consumer
from schemas import Codec, inbox_topic
from schemas.errors import HxError
from schemas.headers import CE_SOURCE, CE_TYPE

log = structlog.get_logger("hxbus.console")

_INBOX_PREFIX = inbox_topic("")


class TopicReader:
    """Follows the topics in a daemon thread until ``stop``."""

    def __init__(
        self,
        settings: Settings,
        inbox_agencies: Sequence[str],
        book: AlertBook,
        flows: FlowCounter,
    ) -> None:
        self._settings = settings
        self._inboxes = [inbox_topic(agency) for agency in inbox_agencies]
        self._book = book
        self._flows = flows
        self._codec = Codec()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="console-topics", daemon=True)
        self.loading = True
        self.error: str | None = None
        self.unreadable = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow()
            except Exception as exc:  # the broker or a topic went away: say so, start again
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("console_topics_failed", error=self.error)
                self._stop.wait(2.0)

    def _follow(self) -> None:
        consumer = make_consumer(self._settings, group_id=None, enable_auto_commit=False)
        try:
            loading_until = self._assign(consumer)
            self.error = None
            while not self._stop.is_set():
                polled = consumer.poll(timeout_ms=200, max_records=5000)
                for records in polled.values():
                    for record in records:
                        self._take(record)
                if self.loading and all(
                    consumer.position(tp) >= end for tp, end in loading_until.items()
                ):
                    self.loading = False
                    log.debug("console_register_loaded")
        finally:
            consumer.close(autocommit=False)

    def _assign(self, consumer: Any) -> dict[Any, int]:
        """Assign every partition; the alert topics' end offsets, the register's goal."""
        alerts = _partitions(consumer, ALERT_TOPICS)
        inboxes = _partitions(consumer, self._inboxes)
        consumer.assign(alerts + inboxes)
        if alerts:
            consumer.seek_to_beginning(*alerts)
        if inboxes:
            consumer.seek_to_end(*inboxes)
        return dict(consumer.end_offsets(alerts)) if alerts else {}

    def _take(self, record: Any) -> None:
        headers = dict(record.headers or ())
        source = (headers.get(CE_SOURCE) or b"?").decode("utf-8", "replace")
        event_type = (headers.get(CE_TYPE) or b"?").decode("utf-8", "replace")
        topic: str = record.topic
        target = topic[len(_INBOX_PREFIX) :] if topic.startswith(_INBOX_PREFIX) else EVERYONE
        if target == source:
            return  # the sender's copy of its own hit or request: no flow between agencies
        self._flows.add(source, target, event_type, record.timestamp)
        if target != EVERYONE or event_type not in REGISTER_TYPES:
            return
        try:
            decoded_type, data = self._codec.decode(record.value or b"")
        except HxError:
            self.unreadable += 1
            return
        position = f"{topic}/{record.partition}@{record.offset}"
        self._book.apply(decoded_type, data, position)


def _partitions(consumer: Any, topics: Sequence[str]) -> list[Any]:
    """Every partition of ``topics`` (a topic the broker lacks has none)."""
    return [
        TopicPartition(topic, p)
        for topic in topics
        for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]
