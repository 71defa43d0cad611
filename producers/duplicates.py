"""The duplicate check before entry: one live alert per subject per issuing agency.

Schengen's compatibility rule, simplified (issue 4): a *new* PersonAlert or VehicleAlert
(revision 1, an alert_id not seen before) on a subject (identity number, plate) that
already has a live alert

- of the same agency is refused, naming the existing alert: the desk should revise that
  one (a second alert would make partners act twice, and a withdrawal of one would leave
  the other in force);
- of another agency is let through, with the existing alert ids added to the new alert's
  ``related_alerts`` (the contract's link field), so that every partner sees both and the
  two desks can talk.

Need-to-know alerts are not in the alert register (it holds nothing of them): for a new
restricted alert the check asks the operator's lookup service instead (``SubjectLookup``,
``producers.lookup_client``), which answers hit or no hit, the agencies to contact, and
the ids of the asker's own alerts only. A hit of the same agency is refused like above,
naming its alert; a hit of another agency cannot be linked (its id is not shown) and is
reported as a notice: "a live alert on this subject exists at <agency>: contact it". A
refused question (rate limit) refuses the alert, to be sent again later; no answer at all
(the service is not running) lets it go unchecked, with a warning from the client: the
check helps the desk, it does not guard need to know.

Revisions and re-sends of an alert already known (same alert_id, e.g. a file published
again after a timeout) are not new alerts and pass unchecked, so publishing stays
idempotent.

The Publisher does not know where live alerts come from: it is given a ``LiveAlerts``
(the command line builds the alert register from the broker at start) and tells it what
it sends itself, so that two alerts on one subject in one file are caught too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from schemas import ExchangeEvent
from schemas.audiences import is_restricted
from schemas.errors import BrokerUnavailable, DuplicateAlert, Issue
from schemas.lookup import LookupReply
from schemas.subjects import ALERT_TYPES, Subject, subject_of


class KnownAlert(Protocol):
    """What the check needs to know of an existing alert."""

    @property
    def alert_id(self) -> str: ...

    @property
    def issuing_agency(self) -> str: ...

    @property
    def revision(self) -> int: ...

    @property
    def valid_until(self) -> datetime | None: ...


class LiveAlerts(Protocol):
    """The alerts in service now, by subject key (``schemas.subjects``)."""

    def find(self, subject_key: str) -> Sequence[KnownAlert]:
        """The live alerts on ``subject_key``."""
        ...

    def knows(self, alert_id: str) -> bool:
        """Whether ``alert_id`` was seen at all (any revision, any status)."""
        ...

    def note(self, event_type: str, record: Mapping[str, Any]) -> None:
        """Take in an event the publisher is sending."""
        ...


class SubjectLookup(Protocol):
    """The operator's hit/no-hit lookup on need-to-know alerts (``schemas.lookup``)."""

    def ask(self, subject_key: str) -> LookupReply | None:
        """The answer; None when the service cannot answer (the alert goes unchecked)."""
        ...


class DuplicateCheck:
    """Applies the rule to validated events; remembers what was sent through ``sent``."""

    def __init__(self, live: LiveAlerts, lookup: SubjectLookup | None = None) -> None:
        self._live = live
        self._lookup = lookup
        #: What the last ``admit`` has to tell the desk without refusing (contact notes).
        self.notices: list[Issue] = []
        #: Whether the last ``admit`` waited for the lookup service's answer.
        self.asked = False

    def admit(self, event: ExchangeEvent) -> ExchangeEvent | None:
        """None when the event passes as it is; the event with links when it needs them.

        ``DuplicateAlert`` (a ``ValidationFailed``, naming the subject's field path) when the
        issuing agency already has a live alert on the subject.
        """
        record = event.record
        self.notices = []
        self.asked = False
        if event.event_type not in ALERT_TYPES or record.get("revision") != 1:
            return None
        alert_id = record["alert_id"]
        if self._live.knows(alert_id):
            return None
        subject = subject_of(event.event_type, record)
        if subject is None:
            return None
        if self._lookup is not None and is_restricted(record.get("handling")):
            self._ask(self._lookup, record, subject)
        existing = [a for a in self._live.find(subject.key) if a.alert_id != alert_id]
        own = [a for a in existing if a.issuing_agency == record["issuing_agency"]]
        if own:
            raise DuplicateAlert([Issue(subject.path, _refusal(own))])
        linked = list(record.get("related_alerts") or [])
        missing = [a.alert_id for a in existing if a.alert_id not in linked]
        if not missing:
            return None
        return ExchangeEvent(event.envelope, {**record, "related_alerts": linked + missing})

    def _ask(self, lookup: SubjectLookup, record: dict[str, Any], subject: Subject) -> None:
        """The lookup's answer applied: refused for an own hit, a notice for another's."""
        self.asked = True
        reply = lookup.ask(subject.key)
        if reply is None:
            return
        if reply.refused is not None:
            raise BrokerUnavailable(f"lookup: the service refused the question ({reply.refused})")
        issuer = record["issuing_agency"]
        own = [i for i in reply.alert_ids if i != record["alert_id"]]
        if own:
            raise DuplicateAlert(
                [
                    Issue(
                        subject.path,
                        f"already has a live need-to-know alert of this agency: "
                        f"{', '.join(own)}; revise it instead of issuing a new alert",
                    )
                ]
            )
        others = [a for a in reply.issuers if a != issuer]
        if others:
            self.notices.append(
                Issue(
                    subject.path,
                    f"a live alert on this subject exists at {', '.join(others)}: contact "
                    "that agency (a need-to-know alert: its id is not shown)",
                )
            )

    def sent(self, event: ExchangeEvent) -> None:
        """The event was handed to the broker: later events are checked against it."""
        if event.event_type in ALERT_TYPES or event.event_type == "AlertStatusChange":
            self._live.note(event.event_type, event.record)


def _refusal(own: Sequence[KnownAlert]) -> str:
    """The rule, in the words a duty desk needs: which alert, and what to do instead."""
    described = ", ".join(
        f"{a.alert_id} (revision {a.revision}"
        + (f", valid until {a.valid_until:%Y-%m-%dT%H:%M:%SZ})" if a.valid_until else ")")
        for a in own
    )
    return (
        f"already has a live alert of this agency: {described}; "
        "revise it instead of issuing a new alert"
    )
