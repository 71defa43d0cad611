"""The console's one topic reader: the alert topics for the register, the inboxes for flows.

One consumer, no group (nothing committed: watching is not consuming), assigned to

- the alert topics from their beginning, folded into the ``AlertBook`` (the register is
  rebuilt as ``hxbus alerts`` rebuilds it when no snapshot helps: slower, same answer);
  until it has read up to the end offsets it found at start, ``loading`` is true;
- the inbox topics of the agencies whose flows the principal may see (every inbox for the
  auditor, its own for an agency: what its broker login may read on a secured broker):
  the headers of what arrives from now on, for the flows;
- an agency's own inbox also from its beginning, for the need-to-know alerts it issued or
  was shared with (design.md, Need to know): they travel only as directed copies into
  their recipients' inboxes, never on the alert topics, so the register cannot hold them.
  Only a copy its issuer signed and addressed to this agency counts
  (``consumers.is_shared_copy``, verified when the agreement has keys); it is folded into
  the ``AlertBook`` with its ``share_with``, so only this principal sees it. The auditor
  sees the register's (broadcast) alerts only: a restricted alert is its recipients'.

Alert messages count as flows too (target ``*``). A need-to-know alert on the alert topics
(a partner's mistake, a forgery) is not folded, as the register does not fold it. The
reader runs in its own thread and never stops on a bad message: one that does not decode
is counted and skipped (the DLQ is the roles' business). When the broker fails it says
so in ``error`` and starts again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import structlog

from consumers.alert_register import ALERT_TOPICS, REGISTER_TYPES, is_shared_copy, publicly_foldable
from consumers.delivery import Delivery
from consumers.reading import MessageReader
from hxbus.console.alert_book import AlertBook
from hxbus.console.flows import EVERYONE, FlowCounter
from runtime import Settings, Verifier, open_consumer
from runtime.kafka import Consumer, Record, TopicPartition
from runtime.topic_end import partitions_of
from schemas import Codec, inbox_owner, inbox_topic
from schemas.errors import HxError
from schemas.headers import CE_SOURCE, CE_TYPE

log = structlog.get_logger("hxbus.console")


class TopicReader:
    """Follows the topics in a daemon thread until ``stop``."""

    def __init__(
        self,
        settings: Settings,
        inbox_agencies: Sequence[str],
        book: AlertBook,
        flows: FlowCounter,
        *,
        own_inbox: str | None = None,
        verifier: Verifier | None = None,
    ) -> None:
        self._settings = settings
        self._inboxes = [inbox_topic(agency) for agency in inbox_agencies]
        #: The agency principal's own inbox, read from its beginning for its copies.
        self._own = inbox_topic(own_inbox) if own_inbox is not None else None
        self._book = book
        self._flows = flows
        self._codec = Codec()
        self._copies = MessageReader(self._codec, verifier)
        #: Per inbox partition, the offset from which records count as flows (the end
        #: when the reader started: flows are what happens from now on).
        self._flows_from: dict[TopicPartition, int] = {}
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
        consumer = open_consumer(self._settings)
        try:
            loading_until = self._assign(consumer)
            self.error = None
            while not self._stop.is_set():
                polled = consumer.poll(0.2, 5000)
                for records in polled.values():
                    for record in records:
                        self._take(record)
                if self.loading and all(
                    consumer.position(tp) >= end for tp, end in loading_until.items()
                ):
                    self.loading = False
                    log.debug("console_register_loaded")
        finally:
            consumer.close()

    def _assign(self, consumer: Consumer) -> dict[TopicPartition, int]:
        """Assign every partition; the end offsets to read before the alerts are loaded
        (the alert topics' and the agency's own inbox's)."""
        alerts = partitions_of(consumer, ALERT_TOPICS)
        inboxes = partitions_of(consumer, self._inboxes)
        own = [tp for tp in inboxes if tp.topic == self._own]
        consumer.assign(alerts + inboxes)
        self._flows_from = consumer.end_offsets(inboxes) if inboxes else {}
        if alerts:
            consumer.seek_to_beginning(alerts)
        if inboxes:
            consumer.seek_to_end(inboxes)
        if own:
            consumer.seek_to_beginning(own)
        goal = alerts + own
        return consumer.end_offsets(goal) if goal else {}

    def _take(self, record: Record) -> None:
        headers = dict(record.headers)
        source = (headers.get(CE_SOURCE) or b"?").decode("utf-8", "replace")
        event_type = (headers.get(CE_TYPE) or b"?").decode("utf-8", "replace")
        topic: str = record.topic
        owner = inbox_owner(topic)
        inbox = owner is not None
        target = owner if owner is not None else EVERYONE
        if topic == self._own and event_type in REGISTER_TYPES:
            self._take_copy(record)
        if inbox and record.offset < self._flows_from.get(
            TopicPartition(topic, record.partition), 0
        ):
            return  # read for the copies only: what arrived before the console started
        if target == source:
            return  # the sender's copy of its own hit or request: no flow between agencies
        self._flows.add(source, target, event_type, record.timestamp_ms)
        if target != EVERYONE or event_type not in REGISTER_TYPES:
            return
        try:
            decoded_type, data = self._codec.decode(record.value or b"")
        except HxError:
            self.unreadable += 1
            return
        if not publicly_foldable(decoded_type, data):
            return  # a need-to-know alert has no business on the alert topics
        position = f"{topic}/{record.partition}@{record.offset}"
        self._book.apply(decoded_type, data, position)

    def _take_copy(self, record: Record) -> None:
        """A need-to-know alert or status change in the principal's own inbox."""
        read = self._copies.read(record)
        if not isinstance(read, Delivery):
            self.unreadable += 1
            return
        if is_shared_copy(read):
            position = f"{record.topic}/{record.partition}@{record.offset}"
            self._book.apply(read.event_type, read.record, position)
