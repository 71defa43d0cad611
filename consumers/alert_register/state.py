"""The current state of every alert, folded from its revisions and status changes.

One ``AlertState`` per alert_id: the latest revision seen (issuer, category, validity,
pseudonymous subject key, where on the bus that revision sits) and the status (ACTIVE
until an AlertStatusChange ends it). The fold is a *join*: ``merge`` is commutative,
associative and idempotent, so folding a message twice (a redelivery, a replay, a rebuild
that overlaps the register topic's snapshot) or folding a snapshot and then the messages
it already covered gives the same state. That is what lets the register be rebuilt from
its compacted topic plus the tail of the alert topics without exact bookkeeping:

- the higher revision wins the revision fields (a receiver keeps the highest revision it
  has seen, as the contract says); equal revisions are the same message;
- a status change ends the alert for good: a terminal status beats ACTIVE whatever
  arrives later, and of two terminal statuses the earlier ``changed_at`` wins (the alert
  was already out of service when the second was sent).

``AlertRegister`` holds the states with an index by subject key, answers the duplicate
check (``find``, ``knows``, ``note``: the ``producers.LiveAlerts`` protocol) and lists them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from consumers.reading import utc_now
from schemas.subjects import ALERT_TYPES, subject_of

#: The status of an alert no status change has ended.
ACTIVE = "ACTIVE"
#: Shown for an ACTIVE alert whose valid_until has passed (not a status anyone sent).
LAPSED = "EXPIRED"
#: Version of the JSON form on the register topic; a reader refuses other versions.
STATE_VERSION = 1

_KIND_OF = {"PersonAlert": "PERSON", "VehicleAlert": "VEHICLE"}


@dataclass(frozen=True, slots=True)
class AlertState:
    """What the exchange knows of one alert now. No names, no numbers: a subject key."""

    alert_id: str
    kind: str
    #: The highest revision seen; 0 when only a status change of the alert was seen.
    revision: int
    status: str
    issuing_agency: str
    category: str | None = None
    subject_key: str | None = None
    issued_at: datetime | None = None
    valid_until: datetime | None = None
    related_alerts: tuple[str, ...] = ()
    #: ``topic/partition@offset`` of the latest revision, to re-deliver it byte for byte.
    position: str | None = None
    changed_at: datetime | None = None
    changed_by: str | None = None

    def live(self, now: datetime) -> bool:
        """In service: a revision seen, no status change, and not past valid_until."""
        return (
            self.status == ACTIVE
            and self.revision > 0
            and self.valid_until is not None
            and now < self.valid_until
        )

    def shown_status(self, now: datetime) -> str:
        """The status an operator reads: a lapsed ACTIVE alert shows as EXPIRED."""
        if self.status == ACTIVE and self.valid_until is not None and now >= self.valid_until:
            return LAPSED
        return self.status

    # -- the JSON form on the register topic ---------------------------------------------

    def to_json(self) -> bytes:
        data: dict[str, Any] = {"v": STATE_VERSION, **asdict(self)}
        for name in ("issued_at", "valid_until", "changed_at"):
            moment = data[name]
            data[name] = moment.isoformat() if moment is not None else None
        data["related_alerts"] = list(self.related_alerts)
        return json.dumps(data, ensure_ascii=False, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> AlertState:
        """The state written by ``to_json``; ValueError for anything else."""
        data = json.loads(raw)
        if not isinstance(data, dict) or data.pop("v", None) != STATE_VERSION:
            raise ValueError(f"not an alert state of version {STATE_VERSION}")
        for name in ("issued_at", "valid_until", "changed_at"):
            if data.get(name) is not None:
                data[name] = datetime.fromisoformat(data[name])
        data["related_alerts"] = tuple(data.get("related_alerts") or ())
        return cls(**data)


def state_of(
    event_type: str, record: Mapping[str, Any], position: str | None = None
) -> AlertState | None:
    """The state one message says, on its own; None for events that are not about alerts."""
    if event_type in ALERT_TYPES:
        subject = subject_of(event_type, record)
        return AlertState(
            alert_id=record["alert_id"],
            kind=_KIND_OF[event_type],
            revision=int(record["revision"]),
            status=ACTIVE,
            issuing_agency=record["issuing_agency"],
            category=record.get("category"),
            subject_key=subject.key if subject else None,
            issued_at=record.get("issued_at"),
            valid_until=record.get("valid_until"),
            related_alerts=tuple(record.get("related_alerts") or ()),
            position=position,
        )
    if event_type == "AlertStatusChange":
        return AlertState(
            alert_id=record["alert_id"],
            kind=record["alert_kind"],
            revision=0,
            status=record["status"],
            issuing_agency=record["agency"],
            changed_at=record.get("changed_at"),
            changed_by=record["agency"],
        )
    return None


def merge(old: AlertState, new: AlertState) -> AlertState:
    """The join of two states of one alert (see the module docstring for the rules)."""
    # Equal revisions are the same message; the copy that knows its place on the bus wins
    # (the publisher notes what it sends before the broker has given it an offset).
    newer = (new.revision, new.position is not None) > (old.revision, old.position is not None)
    base = new if newer else old
    ending = _ending(old, new)
    if ending is None:
        return base
    return replace(
        base,
        status=ending.status,
        changed_at=ending.changed_at,
        changed_by=ending.changed_by,
    )


def _ending(a: AlertState, b: AlertState) -> AlertState | None:
    """Of the two, the state that carries the status change that ended the alert first."""
    ended = [s for s in (a, b) if s.status != ACTIVE]
    if not ended:
        return None
    return min(ended, key=lambda s: (_moment(s.changed_at), s.status))


def _moment(moment: datetime | None) -> float:
    """Seconds since the epoch, unknown as last."""
    return moment.timestamp() if moment is not None else float("inf")


class AlertRegister:
    """Every alert's current state, indexed by subject key; the duplicate check's view."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self._clock = clock
        self._states: dict[str, AlertState] = {}
        self._by_subject: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._states)

    def get(self, alert_id: str) -> AlertState | None:
        return self._states.get(alert_id)

    def copy(self) -> AlertRegister:
        """A register of the same states that folds on without changing this one (a
        reader on another thread keeps asking this one meanwhile). The states themselves
        are frozen and shared: a copy costs its two indexes, not a second register."""
        twin = AlertRegister(self._clock)
        twin._states = dict(self._states)
        twin._by_subject = {key: set(ids) for key, ids in self._by_subject.items()}
        return twin

    def apply(
        self, event_type: str, record: Mapping[str, Any], position: str | None = None
    ) -> AlertState | None:
        """Fold one message in; the alert's new state when it changed, else None."""
        state = state_of(event_type, record, position)
        return None if state is None else self.merge(state)

    def merge(self, state: AlertState) -> AlertState | None:
        """Fold one state in (a snapshot entry); the new state when it changed, else None."""
        old = self._states.get(state.alert_id)
        new = state if old is None else merge(old, state)
        if new == old:
            return None
        if old is not None and old.subject_key and old.subject_key != new.subject_key:
            self._by_subject.get(old.subject_key, set()).discard(new.alert_id)
        if new.subject_key:
            self._by_subject.setdefault(new.subject_key, set()).add(new.alert_id)
        self._states[new.alert_id] = new
        return new

    # -- the duplicate check (producers.LiveAlerts) -------------------------------------

    def find(self, subject_key: str) -> list[AlertState]:
        """The alerts live now on ``subject_key``, oldest issue first."""
        now = self._clock()
        found = (self._states[i] for i in self._by_subject.get(subject_key, ()))
        return sorted((s for s in found if s.live(now)), key=_issue_order)

    def knows(self, alert_id: str) -> bool:
        """Whether any revision or status change of ``alert_id`` was seen."""
        return alert_id in self._states

    def note(self, event_type: str, record: Mapping[str, Any]) -> None:
        """Take in a message this process is sending (the publisher's own alerts)."""
        self.apply(event_type, record)

    # -- listing -----------------------------------------------------------------------

    def states(
        self,
        *,
        live: bool = False,
        agency: str | None = None,
        subject_key: str | None = None,
    ) -> list[AlertState]:
        """The states that pass the filters, oldest issue first."""
        now = self._clock()
        chosen: Iterable[AlertState] = self._states.values()
        if subject_key is not None:
            chosen = (self._states[i] for i in self._by_subject.get(subject_key, ()))
        return sorted(
            (
                s
                for s in chosen
                if (not live or s.live(now)) and (agency is None or s.issuing_agency == agency)
            ),
            key=_issue_order,
        )


def _issue_order(state: AlertState) -> tuple[float, str]:
    return (_moment(state.issued_at), state.alert_id)
