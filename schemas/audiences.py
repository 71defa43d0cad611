"""Who an alert is for: broadcast to every partner, or restricted to named agencies.

Need to know (design.md): an alert whose ``handling`` is not SHARE_ALL_PARTNERS —
NEED_TO_KNOW, ORIGINATOR_CONTROL, or a symbol a partner may add later (unknown rules
fail closed) — travels only as directed copies into the inboxes of its issuer and of the
agencies in ``share_with``. Its revisions and status changes follow it there. So the
sender of a revision or a status change must know where the alert went before:

- a status change carries no ``share_with``: it goes to the alert's current audience;
- a revision that narrows ``share_with`` must withdraw the alert from the agencies it
  drops (``producers.routing.narrowing_withdrawals``);
- a revision may not move an alert between broadcast and restricted handling: a
  broadcast alert was read by every partner and cannot be taken back into need-to-know by
  a revision, and a restricted one made broadcast would leave every earlier revision and
  the withdrawals out of the partners' sight. The desk withdraws it and issues a new one.

``AudienceBook`` is that memory: what the publisher itself sent, plus what it was told
at start (its own copies in its own inbox, ``consumers.read_issued_copies``; its
broadcast alerts in the alert register). The rule lives in the contract package because
every role applies it the same way: the publisher to route, the bridge to deliver, the
alert register to keep restricted alerts out of what every agency reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

#: The one handling under which an alert is broadcast; every other symbol restricts.
SHARE_ALL = "SHARE_ALL_PARTNERS"
#: The ``reason`` of the withdrawal a narrowing revision sends each agency it drops: a
#: fixed code, no free text (the dropped agency learns nothing more). A bridge that reads
#: it withdraws the alert from its local system only when no agency of the province still
#: shares it (``bridge.inbound``).
NARROWED_REASON = "SHARE_WITH_NARROWED"
#: Alert event types and the alert kind each one is.
ALERT_KIND_OF: dict[str, str] = {"PersonAlert": "PERSON", "VehicleAlert": "VEHICLE"}


def is_restricted(handling: object) -> bool:
    """Whether an alert with this ``handling`` is need-to-know (anything but SHARE_ALL)."""
    return handling != SHARE_ALL


@dataclass(frozen=True, slots=True)
class Audience:
    """Where one alert goes: broadcast, or the directed recipients of its latest revision."""

    alert_id: str
    kind: str
    issuer: str
    restricted: bool
    #: The issuer and ``share_with`` of the latest revision (restricted alerts only).
    recipients: frozenset[str] = frozenset()
    #: Every agency any revision was sent to (a withdrawal may go to any of them).
    reached: frozenset[str] = frozenset()
    revision: int = 0

    @property
    def partners(self) -> frozenset[str]:
        """The recipients other than the issuer (those ``share_with`` names)."""
        return self.recipients - {self.issuer}


def audience_of(event_type: str, record: Mapping[str, Any]) -> Audience | None:
    """The audience an alert record says on its own; None for other event types."""
    kind = ALERT_KIND_OF.get(event_type)
    if kind is None:
        return None
    issuer = str(record["issuing_agency"])
    restricted = is_restricted(record.get("handling"))
    recipients = (
        frozenset({issuer, *(record.get("share_with") or ())}) if restricted else frozenset()
    )
    return Audience(
        alert_id=str(record["alert_id"]),
        kind=kind,
        issuer=issuer,
        restricted=restricted,
        recipients=recipients,
        reached=recipients,
        revision=int(record.get("revision") or 0),
    )


def broadcast_audience(alert_id: str, kind: str, issuer: str, revision: int = 0) -> Audience:
    """The audience of a broadcast alert known from the alert register."""
    return Audience(
        alert_id=alert_id, kind=kind, issuer=issuer, restricted=False, revision=revision
    )


class AudienceLookup(Protocol):
    """What routing needs: the audience of an alert, if known."""

    def get(self, alert_id: str) -> Audience | None: ...


#: Alerts an ``AudienceBook`` keeps before it forgets the oldest (a long ``hxbus simulate``
#: run issues alerts for ever; a file or an outbox session is far smaller). A forgotten
#: alert's status change is refused, never guessed.
BOOK_LIMIT = 500_000


class AudienceBook:
    """The audiences of the alerts a publisher knows, by alert id (the latest ``limit``)."""

    def __init__(self, audiences: Iterable[Audience] = (), *, limit: int = BOOK_LIMIT) -> None:
        self._by_id: dict[str, Audience] = {}
        self._limit = limit
        for audience in audiences:
            self.add(audience)

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, alert_id: str) -> Audience | None:
        return self._by_id.get(alert_id)

    def add(self, audience: Audience) -> None:
        """Take in one revision's audience; a later revision replaces the recipients."""
        old = self._by_id.get(audience.alert_id)
        if old is None:
            self._by_id[audience.alert_id] = audience
            if len(self._by_id) > self._limit:  # dicts keep insertion order: oldest first
                del self._by_id[next(iter(self._by_id))]
            return
        newer = audience if audience.revision >= old.revision else old
        self._by_id[audience.alert_id] = Audience(
            alert_id=newer.alert_id,
            kind=newer.kind,
            issuer=newer.issuer,
            restricted=newer.restricted,
            recipients=newer.recipients,
            reached=old.reached | audience.reached,
            revision=newer.revision,
        )

    def note(self, event_type: str, record: Mapping[str, Any]) -> None:
        """Take in an alert being sent (other event types change no audience)."""
        audience = audience_of(event_type, record)
        if audience is not None:
            self.add(audience)
