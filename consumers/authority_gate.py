"""The authority check of the consumer runtime: one gate, every role.

The runtime hands each message that decoded, verified and is no duplicate to
``AuthorityGate.check`` before the handler sees it (``consumers.loop``). The gate judges
it with ``schemas.authority.judge`` against what the role knows (its ``FactStore``) and,
for an alert the role has not seen, what the alert register knows (an ``AlertSource``:
``consumers.alert_register.RegisterLookup`` or ``RegisterFacts``).
A message that passes teaches the store its facts (staged; the runtime commits them with
the batch). A refusal is an ``AuthorityRefused`` the runtime dead-letters with reason
``not_authorized``; an ``AuthorityUnknown`` is retried, then dead-lettered.

The gate knows the register only as an ``AlertSource``: the runtime never imports the
roles built on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from consumers.authority_store import FactStore
from consumers.delivery import Delivery
from runtime.kafka import TopicPartition
from schemas.agreement import inbox_owner
from schemas.authority import Said, judge, lesson
from schemas.authority_facts import AlertFacts, HitFacts, Lesson, RequestFacts
from schemas.errors import AuthorityRefused, AuthorityUnknown

#: The alert topics (``hx.alerts.person``, ``hx.alerts.vehicle``): see ``ordered``.
ALERT_TOPIC_PREFIX = "hx.alerts."


def said_of(message: Delivery) -> Said:
    """The rules' view of a delivered message."""
    return Said(
        event_type=message.event_type,
        record=message.record,
        source=message.source,
        target=message.envelope.target,
        inbox_owner=inbox_owner(message.topic),
    )


class AlertSource(Protocol):
    """Where a gate looks up an alert its store does not know."""

    #: Whether an alert it does not know now is unknown for good (see ``AuthorityGate``).
    settled: bool

    def alert(self, alert_id: str) -> AlertFacts | None: ...


class _Known:
    """The store first, then the register for alerts the store does not know."""

    def __init__(self, store: FactStore, register: AlertSource | None) -> None:
        self._store = store
        self._register = register

    def alert(self, alert_id: str) -> AlertFacts | None:
        found = self._store.alert(alert_id)
        if found is None and self._register is not None:
            found = self._register.alert(alert_id)
        return found

    def hit(self, hit_id: str) -> HitFacts | None:
        return self._store.hit(hit_id)

    def request(self, request_id: str) -> RequestFacts | None:
        return self._store.request(request_id)


def _ids_taught(taught: Lesson | None) -> set[tuple[str, str]]:
    """The (kind, id) pairs of the facts ``taught`` adds."""
    if taught is None:
        return set()
    pairs = (("alert", taught.alert), ("hit", taught.hit), ("request", taught.request))
    return {(kind, fact[0]) for kind, fact in pairs if fact is not None}


class AuthorityGate:
    """Judges each message for the runtime, and keeps the facts of those that pass.

    ``register`` (optional) answers for alerts ``store`` does not know: a ``RegisterLookup``
    in the bridge and the tracker; ``RegisterFacts`` of its own register in the register
    role (whose store is ``NullFacts``: the register keeps the facts itself).
    """

    def __init__(
        self,
        store: FactStore,
        register: AlertSource | None = None,
        *,
        wait_for_unknown: bool = True,
    ) -> None:
        self.store = store
        self._register = register
        self._known = _Known(store, register)
        #: False where nothing can still teach the missing fact (the register role reads
        #: each alert before its status changes, in one partition): refused at once.
        self._wait = wait_for_unknown

    def check(self, message: Delivery) -> None:
        """Return when ``message`` may be handled (its facts staged), else raise
        ``AuthorityRefused`` (or the retriable ``AuthorityUnknown``)."""
        said = said_of(message)
        try:
            judge(said, self._known)
        except AuthorityUnknown as unknown:
            if self._wait and not self._unknown_for_good(said):
                raise
            raise AuthorityRefused(
                unknown.rule, str(unknown).split(": ", 1)[1], unknown.field
            ) from None
        taught = lesson(said)
        if taught is not None:
            self.store.note(taught)

    @staticmethod
    def ordered(partitions: Iterable[TopicPartition]) -> list[TopicPartition]:
        """A batch's partitions in the order to handle them: the alert topics first.

        Each partition is still handled in offset order; only which partition goes first
        is chosen. Alerts teach the facts that hits and status changes name, and those
        read from an inbox in the same batch as their alert would otherwise find it
        unknown, stop their partition for a retry and start a register load (a read of
        every alert topic on a background thread, competing with the loop for the GIL).
        """
        return sorted(partitions, key=lambda tp: not tp.topic.startswith(ALERT_TOPIC_PREFIX))

    def check_in_batch(self, message: Delivery, later: Iterable[Delivery]) -> None:
        """``check``; when ``message`` names something not known yet, first learn from
        ``later``, the rest of its partition's batch (the fact may travel behind it in
        the same partition: ``learn_ahead``), and check again."""
        try:
            self.check(message)
        except AuthorityUnknown:
            if not self.learn_ahead(message, later):
                raise
            self.check(message)

    def learn_ahead(self, stuck: Delivery, later: Iterable[Delivery]) -> int:
        """Learn the facts of the messages ``later`` in the partition of a message that named
        something unknown; return how many taught something.

        Why: a fact often travels behind the message that needs it, in the same partition.
        The sender's copy of a hit is keyed by ``hit_id`` like the hit's confirmation, so
        both go to the same partition of the reporter's inbox (a request's copy and its
        responses share ``request_id``; an issuer's copy of a need-to-know alert and a hit
        on it can share a partition of its inbox too); when the answer is appended first
        (the reporter's send slower than the issuer's confirmation, or a copy retried), a
        partition held at the answer never reads the fact, and the answer was refused
        once its retries ran out, however legitimate. Reading ahead changes no rule: each
        message is judged by ``judge`` against what is known, in offset order, exactly as
        it will be when its turn comes; only those that pass teach, and a message that
        needs facts nobody sent stays unknown. The same messages are judged again in
        their turn (teaching again changes nothing: facts only merge). What ``stuck``
        itself would teach (a hit's first sighting) is not taught from a later message of
        the same id: read in order, ``stuck`` would have come first."""
        own = _ids_taught(lesson(said_of(stuck)))
        taught = 0
        for message in later:
            said = said_of(message)
            lesson_of = lesson(said)
            if lesson_of is None or own & _ids_taught(lesson_of):
                continue
            try:
                judge(said, self._known)
            except (AuthorityRefused, AuthorityUnknown):
                continue
            self.store.note(lesson_of)
            taught += 1
        return taught

    def _unknown_for_good(self, said: Said) -> bool:
        """A message read from an alert topic names an alert that sits before it in the
        same partition (same key): if neither this receiver read it nor a register load
        since it started knows it, waiting cannot help; refuse at once, so a backlog of
        such orphans does not stall the stream. Inbox traffic (a hit before its alert
        on another topic) waits."""
        register = self._register
        from_alert_topic = said.inbox_owner is None and said.event_type == "AlertStatusChange"
        return from_alert_topic and register is not None and register.settled

    def keep(self, flushed: bool, log: Any) -> None:
        """Commit the facts the batch's accepted messages taught, or drop them with the
        batch (it comes again and teaches them again). A fact commit that fails is
        logged: the facts are true, the batch is durable, and a later message of the
        same conversation teaches them again or is retried."""
        try:
            if flushed:
                self.commit()
            else:
                self.rollback()
        except Exception as exc:
            log.warning("authority_facts_not_kept", error=str(exc))

    def commit(self) -> None:
        self.store.commit()

    def rollback(self) -> None:
        self.store.rollback()
