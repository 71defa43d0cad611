"""The ten agencies' duty desks: each publishes its events with its own login and key."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from consumers.alert_register import AlertRegister, LoadStats, load_register
from hxbus.demo.summary import Summary
from producers import LazyLookup, Publisher, stamped_at
from runtime import Settings, agreement_verifier
from runtime.signers import agreement_signer
from schemas import BROADCAST_TOPICS, Agreement, ExchangeEvent, inbox_topic, utc_now_ms

#: The desks' producer linger: a desk sends one event at a time (5/s each at the default
#: rate), so waiting for more to fill a batch only adds latency (docs/benchmarks.md).
DESK_LINGER_MS = 0
#: The longest a desk waits for another desk to send what its event answers (seconds).
ANSWER_WAIT_S = 30.0
#: What each event type answers (the record field naming it) and what it makes exist:
#: a desk answers only what exists, as a real desk answers only what it received.
ANSWERS: dict[str, str] = {
    "AlertHit": "alert_id",
    "HitConfirmation": "hit_id",
    "AssistanceResponse": "request_id",
}
MAKES: dict[str, str] = {
    "PersonAlert": "alert_id",
    "VehicleAlert": "alert_id",
    "AlertHit": "hit_id",
    "AssistanceRequest": "request_id",
}


class AgencyDesks:
    """One publisher per agency, each with the agency's own login and key, fed in the
    order of the synthetic traffic: what ten duty desks would send, each as itself.

    The desks send in parallel, but an event that answers another desk's event (a hit on
    its alert, a confirmation of its hit, a response to its request) waits until that
    desk has handed its event to the producer: a real desk answers only what it received.
    Without that wait, a desk held up by its duplicate-check lookup sent its hit after
    the issuer's confirmation of it, so the reporter's inbox held the confirmation ahead
    of the sender's copy of the hit, and receivers retried or refused it (issue 14).
    Waits point to earlier events of the traffic only, so no two desks wait on each other.
    """

    def __init__(
        self,
        agreement: Agreement,
        login: Callable[[str], Settings],
        summary: Summary,
        created: dict[str, float],
    ) -> None:
        """``login(agency_id)`` gives the agency's settings; ``created`` collects the
        created_at (POSIX seconds) of every copy published, by message id."""
        self._summary = summary
        self._created = created
        self._lock = threading.Lock()
        self._queues: dict[str, queue.Queue[_DeskItem | None]] = {}
        #: Per ("alert_id" | "hit_id" | "request_id", id): set once its event was handed to
        #: the producer by its desk (sequencer thread writes, desk threads read).
        self._handed: dict[tuple[str, str], threading.Event] = {}
        self._threads: list[threading.Thread] = []
        self._failures: list[BaseException] = []
        self._publishers: dict[str, Publisher] = {}
        self._lookups: list[LazyLookup] = []
        bus_topics = [
            *BROADCAST_TOPICS.values(),
            *(inbox_topic(a.id) for a in agreement.agencies),
        ]
        loaded: tuple[AlertRegister, LoadStats] | None = None
        for agency in agreement.agencies:
            settings = login(agency.id)
            signer = agreement_signer(settings, agreement, agency.id)
            # The duplicate check as ``hxbus publish`` runs it: the register as the
            # agency's login reads it, and the lookup service for need-to-know alerts.
            # It holds broadcast alerts only, the same for every login: after the first
            # agency's load, each reads what came since into a copy of its own (ten
            # whole replays were minutes on a broker with a long history, issue 17).
            verifier = agreement_verifier(agreement, role="publish")
            loaded = load_register(settings, verifier=verifier, since=loaded)
            live = loaded[0]
            lookup = LazyLookup(settings, agency.id, signer=signer)
            lookup.warm_up()  # connected before the clock starts, not at the first question
            self._lookups.append(lookup)
            publisher = Publisher(
                settings,
                agreement,
                signer=signer,
                live_alerts=live,
                lookup=lookup,
                linger_ms=DESK_LINGER_MS,
                restamp=_stamped_now,  # after a lookup: stamped when it leaves
            )
            # Each topic's partitions fetched now, not at the first send to it (a wait that
            # would count in the first events' latency).
            publisher.warm_up(bus_topics)
            self._publishers[agency.id] = publisher
            self._queues[agency.id] = queue.Queue()

    def __enter__(self) -> AgencyDesks:
        for agency, publisher in self._publishers.items():
            thread = threading.Thread(
                target=self._desk, args=(agency, publisher), name=f"desk-{agency}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def send(self, event: ExchangeEvent) -> None:
        if self._failures:
            raise self._failures[0]
        answered = ANSWERS.get(event.event_type)
        after = None
        if answered is not None:
            after = self._handed.get((answered, str(event.record.get(answered))))
        made = MAKES.get(event.event_type)
        handed = None
        if made is not None:
            handed = self._handed.setdefault((made, str(event.record.get(made))), threading.Event())
        self._queues[event.envelope.source].put(_DeskItem(event, after, handed))

    def _desk(self, agency: str, publisher: Publisher) -> None:
        def events() -> Iterator[ExchangeEvent]:
            while (item := self._queues[agency].get()) is not None:
                event = item.event
                if item.after is not None and not item.after.is_set():
                    item.after.wait(ANSWER_WAIT_S)
                    # An answer is written once what it answers exists: stamped now.
                    event = _stamped_now(event)
                # ``publish_many`` asks for the next event only once it has handed this
                # one to the producer: then its answers may go.
                yield event
                if item.handed is not None:
                    item.handed.set()

        try:
            with publisher:
                for outcome in publisher.publish_many(events()):
                    with self._lock:
                        if outcome.ok:
                            self._summary.published[outcome.event.event_type] += 1
                            # Files are named by the copy's message id (or the event's).
                            created = outcome.event.envelope.created_at.timestamp()
                            self._created[outcome.event.envelope.message_id] = created
                            for receipt in outcome.receipts:
                                self._created[receipt.message_id] = created
                        else:
                            self._summary.refused += 1
        except BaseException as exc:  # reported by the sending thread
            self._failures.append(exc)

    def __exit__(self, *exc_info: object) -> None:
        for waiting in self._queues.values():
            waiting.put(None)
        for thread in self._threads:
            thread.join()
        for lookup in self._lookups:
            lookup.close()
        if self._failures:
            raise self._failures[0]


def _stamped_now(event: ExchangeEvent) -> ExchangeEvent:
    return stamped_at(event, utc_now_ms())


@dataclass(frozen=True, slots=True)
class _DeskItem:
    """An event for a desk, what it waits for, and what it signals once handed over."""

    event: ExchangeEvent
    after: threading.Event | None
    handed: threading.Event | None
