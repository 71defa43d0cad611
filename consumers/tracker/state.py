"""What the request tracker knows of one item, and what state that puts it in.

An *item* is one thing one agency owes another an answer to, by a deadline:

- ``request``: one target agency of an AssistanceRequest (a request to three agencies is
  three items, as it is three messages). Due: an acknowledgement by the request's
  ``ack_by``, an answer by its ``respond_by``.
- ``hit``: an AlertHit with ``confirmation_requested``, addressed to the alert's issuer.
  Due: a HitConfirmation within the agreement's deadline of the hit's ``priority``
  (``[deadlines]``; UNKNOWN reads as ROUTINE), counted from the hit's issue time (the
  envelope's ``created_at``). A hit has one deadline: ``ack_by == respond_by``.

The answers: an AssistanceResponse whose ``status`` is ACKNOWLEDGED, ACCEPTED, IN_PROGRESS
(or a symbol unknown to this version, OTHER) acknowledges; DECLINED, INFORMATION_PROVIDED
and COMPLETED answer (and so acknowledge too). Any HitConfirmation answers its hit, also
NEED_MORE_INFO: the issuer has spoken, the next move is the reporter's. The time of an
answer is the one the answering agency gives (``responded_at``, ``confirmed_at``); the first
acknowledgement and the first answer count.

This module is pure (no I/O), so the state machine is tested without a broker or a file.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from schemas import Agreement

#: Item kinds (the ``kind`` label of the tracker's metrics).
REQUEST = "request"
HIT = "hit"
KINDS: tuple[str, ...] = (REQUEST, HIT)

#: AssistanceResponse statuses that answer a request; every other status acknowledges it.
ANSWERING_STATUSES: frozenset[str] = frozenset({"DECLINED", "INFORMATION_PROVIDED", "COMPLETED"})


class ItemState(enum.StrEnum):
    """Where an item stands at one moment."""

    #: Nothing received from the target yet; no deadline has passed.
    OPEN = "open"
    #: The target acknowledged; the answer is not in yet and ``respond_by`` has not passed.
    ACKNOWLEDGED = "acknowledged"
    #: The target answered (on time or late: see ``TrackedItem.answered_late``).
    ANSWERED = "answered"
    #: A deadline passed with what it asked for not received.
    OVERDUE = "overdue"


class NoticeState(enum.StrEnum):
    """The second notice of one item: none yet, claimed by a tracker (sending), sent, or failed."""

    NONE = "none"
    SENDING = "sending"
    SENT = "sent"
    #: Refused before it reached the bus (the stored request no longer passes the contract);
    #: logged, never tried again.
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class TrackedItem:
    """One item as the tracker's store holds it (times are aware UTC datetimes)."""

    kind: str
    item_id: str
    target: str
    requester: str
    priority: str
    issued_at: datetime
    ack_by: datetime
    respond_by: datetime
    #: The message id of the request or hit as the target's inbox received it.
    message_id: str
    acknowledged_at: datetime | None = None
    answered_at: datetime | None = None
    notice: NoticeState = NoticeState.NONE
    notice_sent_at: datetime | None = None

    def state(self, now: datetime) -> ItemState:
        """The item's state at ``now``: answered wins; a passed deadline makes it overdue."""
        if self.answered_at is not None:
            return ItemState.ANSWERED
        if self.acknowledged_at is None and now > self.ack_by:
            return ItemState.OVERDUE
        if now > self.respond_by:
            return ItemState.OVERDUE
        if self.acknowledged_at is not None:
            return ItemState.ACKNOWLEDGED
        return ItemState.OPEN

    def notice_due(self, now: datetime) -> bool:
        """A second notice goes out now: overdue, and none was sent or claimed before."""
        return self.notice is NoticeState.NONE and self.state(now) is ItemState.OVERDUE

    @property
    def acknowledged_late(self) -> bool:
        return self.acknowledged_at is not None and self.acknowledged_at > self.ack_by

    @property
    def answered_late(self) -> bool:
        return self.answered_at is not None and self.answered_at > self.respond_by


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a request or hit message makes owed: the item without any answer yet."""

    kind: str
    item_id: str
    target: str
    requester: str
    priority: str
    issued_at: datetime
    ack_by: datetime
    respond_by: datetime


@dataclass(frozen=True, slots=True)
class Answer:
    """What an answering message says: who answered which item, how far, and when."""

    kind: str
    item_id: str
    agency: str
    answered: bool
    at: datetime


def hit_deadline_priority(priority: str) -> str:
    """The priority whose deadline applies: UNKNOWN (a symbol from a newer partner) is ROUTINE."""
    return priority if priority in ("IMMEDIATE", "URGENT", "ROUTINE") else "ROUTINE"


def expectation_of(
    event_type: str,
    record: dict[str, Any],
    *,
    target: str | None,
    issued_at: datetime,
    agreement: Agreement,
) -> Expectation | None:
    """The item a request or hit message opens in ``target``'s inbox, or None.

    None for every other event type, for a hit that asks no confirmation, and for a
    message without target (the publisher always sets it on directed traffic; a request
    copy that lacks it cannot be pinned on one agency).
    """
    if target is None:
        return None
    if event_type == "AssistanceRequest":
        return Expectation(
            REQUEST,
            str(record["request_id"]),
            target,
            str(record["requesting_agency"]),
            str(record["priority"]),
            issued_at,
            record["ack_by"],
            record["respond_by"],
        )
    if event_type == "AlertHit" and record.get("confirmation_requested"):
        priority = str(record["priority"])
        seconds = agreement.deadline_seconds(hit_deadline_priority(priority))
        due = issued_at + timedelta(seconds=seconds)
        return Expectation(
            HIT,
            str(record["hit_id"]),
            target,
            str(record["reporting_agency"]),
            priority,
            issued_at,
            due,
            due,
        )
    return None


def answer_of(event_type: str, record: dict[str, Any]) -> Answer | None:
    """The answer a response or confirmation message gives, or None for other types."""
    if event_type == "AssistanceResponse":
        return Answer(
            REQUEST,
            str(record["request_id"]),
            str(record["responding_agency"]),
            str(record["status"]) in ANSWERING_STATUSES,
            record["responded_at"],
        )
    if event_type == "HitConfirmation":
        return Answer(
            HIT, str(record["hit_id"]), str(record["agency"]), True, record["confirmed_at"]
        )
    return None


def earliest(current: datetime | None, new: datetime | None) -> datetime | None:
    """The first of two times, either of which may be unknown (the first answer counts)."""
    if current is None:
        return new
    if new is None:
        return current
    return min(current, new)
