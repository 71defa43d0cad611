"""The request tracker: who owes whom an answer, by when, and a second notice when late.

Two parts, each on its own thread with its own store connection:

- ``RequestTracker`` is the consumer's handler (consumer group ``hx.tracker``, reading
  every inbox of the agreement). It records each AssistanceRequest copy and each AlertHit
  that asks for confirmation as an item owed by the inbox's agency, and each
  AssistanceResponse and HitConfirmation as the answer to one (``consumers.tracker.state``
  says which status counts as what). Its writes become durable in ``flush``, before the
  runtime commits the offsets: state and offsets never disagree by more than a redelivery,
  which the idempotent writes absorb.
- ``DeadlineWatcher`` wakes every ``interval`` seconds, because deadlines pass when no
  message arrives: it sets ``hx_requests_overdue`` and sends, through a ``NoticeSender``
  (the command line hands it a Publisher; consumers do not import producers), one second
  notice per overdue item (``consumers.tracker.second_notice`` says what it looks like). Claim,
  send, mark: see ``consumers.tracker.store`` for why that is once across restarts.

State: durable, in SQLite under the state directory (``tracker_store`` says why, rather
than rebuilt from the topics at each start). Deadlines come from the events (``ack_by``,
``respond_by``) and, for hits, from the agreement's ``[deadlines]`` per priority; a test
shrinks them with an agreement of its own (``HX_AGREEMENT``).

One tracker per group: a hit and its confirmation travel in different inboxes, so workers
of one group splitting the partitions would each see half of a conversation, unless they
share the store file (trackers on one host, one ``HX_STATE_DIR``): then the union is
whole and the claim makes a notice go once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from consumers.delivery import Delivery
from consumers.reading import utc_now
from consumers.tracker.second_notice import second_notice
from consumers.tracker.state import (
    ItemState,
    TrackedItem,
    answer_of,
    expectation_of,
)
from consumers.tracker.store import DEFAULT_CLAIM_TIMEOUT, TrackerStore
from runtime.metrics import OVERDUE, SECOND_NOTICES
from schemas import Agreement, ExchangeEvent, inbox_topic, parse_event, render_event
from schemas.errors import HxError, SinkUnavailable

log = structlog.get_logger("hxbus.tracker")

#: How often deadlines are checked (seconds).
DEFAULT_INTERVAL_S = 5.0
#: Settled items are forgotten this long after their respond_by.
DEFAULT_RETENTION = timedelta(days=30)
#: Event types the tracker reads; the inboxes carry nothing else, but a reader says so.
TRACKED_TYPES = frozenset(
    {"AssistanceRequest", "AlertHit", "AssistanceResponse", "HitConfirmation"}
)


def inbox_topics(agreement: Agreement, inboxes: list[str] | None) -> list[str]:
    """The inbox topics to read; ConfigError naming an agency the agreement lacks."""
    agencies = inboxes or [a.id for a in agreement.agencies]
    return [inbox_topic(agreement.agency(agency).id) for agency in agencies]


class NoticeSender(Protocol):
    """Sends one event and returns once the broker holds it; ``HxError`` when it did not."""

    def send(self, event: ExchangeEvent) -> None: ...


class RequestTracker:
    """The tracker's handler: requests, hits needing confirmation, and their answers."""

    def __init__(self, store: TrackerStore, agreement: Agreement) -> None:
        self._store = store
        self._agreement = agreement

    def handle(self, message: Delivery) -> None:
        if message.event_type not in TRACKED_TYPES:
            return
        if message.envelope.target == message.source:
            return  # the sender's copy of its own hit or request: owed by nobody
        try:
            self._record(message)
        except sqlite3.Error as exc:  # disk full, locked past the timeout: try again later
            self._store.rollback()
            raise SinkUnavailable(f"tracker state {self._store.path}: {exc}") from exc

    def _record(self, message: Delivery) -> None:
        envelope = message.envelope
        expectation = expectation_of(
            message.event_type,
            message.record,
            target=envelope.target,
            issued_at=envelope.created_at,
            agreement=self._agreement,
        )
        if expectation is not None:
            original = json.dumps(render_event(message.event), ensure_ascii=False)
            self._store.expect(expectation, message.message_id, original)
            if envelope.causation_id is not None:
                self._store.notice_seen(
                    expectation.kind, expectation.item_id, expectation.target, envelope.causation_id
                )
            return
        answer = answer_of(message.event_type, message.record)
        if answer is not None:
            self._store.answer(answer)

    def flush(self) -> None:
        try:
            self._store.commit()
        except sqlite3.Error as exc:
            self._store.rollback()
            raise SinkUnavailable(f"tracker state {self._store.path}: {exc}") from exc


def missed_deadline(item: TrackedItem, now: datetime) -> datetime:
    """The deadline that made ``item`` overdue: ack_by when unacknowledged, else respond_by."""
    if item.acknowledged_at is None and now > item.ack_by:
        return item.ack_by
    return item.respond_by


class DeadlineWatcher:
    """Checks deadlines on a clock: sets the overdue gauge, sends second notices.

    ``ready`` says whether notices may go out now (the consumer runtime's
    ``backlog.read``): the gauge is set at every sweep, notices wait until the consumer
    has read its partitions to their ends (``consumers.backlog``).
    """

    def __init__(
        self,
        store: TrackerStore,
        sender: NoticeSender,
        agreement: Agreement,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT,
        retention: timedelta = DEFAULT_RETENTION,
        clock: Callable[[], datetime] = utc_now,
        ready: Callable[[], bool] = lambda: True,
    ) -> None:
        self._store = store
        self._sender = sender
        self._ready = ready
        self._agreement = agreement
        self._interval_s = interval_s
        self._claim_timeout = claim_timeout
        self._retention = retention
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._gauge_labels: set[tuple[str, str, str]] = set()
        #: Second notices sent, and sweeps made while ``ready`` (the command reports both).
        self.sent = 0
        self.ready_sweeps = 0

    # -- one sweep ---------------------------------------------------------------------------

    def sweep(self) -> int:
        """Send every second notice due now and refresh the overdue gauge; notices sent."""
        now = self._clock()
        sent = 0
        due: list[tuple[TrackedItem, str]] = []
        if self._ready():
            self.ready_sweeps += 1
            due = self._store.due_notices(now, self._claim_timeout)
        for item, original in due:
            if self._store.claim(item, now, self._claim_timeout):
                sent += self._send(item, original, now)
        self._set_gauge(now)
        return sent

    def _send(self, item: TrackedItem, original: str, now: datetime) -> int:
        missed = missed_deadline(item, now)
        bound = log.bind(kind=item.kind, item_id=item.item_id, target=item.target)
        try:
            event = parse_event(json.loads(original), self._agreement)
            self._sender.send(second_notice(event, item.target, missed))
        except HxError as exc:
            if exc.retriable:
                self._store.release(item)
                bound.warning("second_notice_not_sent", reason=exc.reason, error=str(exc))
            else:
                self._store.failed(item)
                bound.error("second_notice_refused", reason=exc.reason, error=str(exc))
            return 0
        self._store.sent(item, self._clock())
        SECOND_NOTICES.labels(item.kind, self._agency_label(item.target)).inc()
        self.sent += 1
        bound.info("second_notice_sent", priority=item.priority, missed=missed.isoformat())
        return 1

    def _set_gauge(self, now: datetime) -> None:
        counts: dict[tuple[str, str, str], int] = {}
        for item in self._store.items():
            if item.state(now) is ItemState.OVERDUE:
                labels = (item.kind, item.priority, self._agency_label(item.target))
                counts[labels] = counts.get(labels, 0) + 1
        for labels in self._gauge_labels - set(counts):
            OVERDUE.labels(*labels).set(0)
        for labels, count in counts.items():
            OVERDUE.labels(*labels).set(count)
        self._gauge_labels |= set(counts)

    def _agency_label(self, agency: str) -> str:
        """Metric labels come from a closed set: the agreement's agencies."""
        return agency if agency in self._agreement.by_id else "unknown"

    # -- on a thread -------------------------------------------------------------------------

    def start(self) -> None:
        """Sweep every ``interval_s`` on a thread of its own until ``stop``."""
        self._thread = threading.Thread(target=self._run, name="deadline-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_prune = 0.0
        while True:
            try:
                self.sweep()
                next_prune = self._maybe_prune(next_prune)
            except Exception as exc:  # a failed sweep is tried again at the next tick
                log.warning("deadline_sweep_failed", error=str(exc), exc_info=exc)
            if self._stop.wait(self._interval_s):
                return

    def _maybe_prune(self, next_prune: float) -> float:
        now = self._clock()
        if now.timestamp() < next_prune:
            return next_prune
        pruned = self._store.prune(now - self._retention)
        if pruned:
            log.info("tracker_pruned", items=pruned)
        return now.timestamp() + 3600.0

    def stop(self) -> None:
        """Finish the sweep in hand and stop (a notice being sent is completed or released)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)


def summary(items: list[TrackedItem], now: datetime) -> dict[str, int]:
    """How many items are in each state at ``now`` (for the command line)."""
    counts = {state.value: 0 for state in ItemState}
    for item in items:
        counts[item.state(now).value] += 1
    return counts
