"""What the authority rules know of earlier messages (``schemas.authority``): the facts of
an alert, a hit and a request, where a receiver keeps them (a ``Facts``), and the
``Lesson`` one accepted message teaches. Only ids and agencies: never a personal field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

SHARE_ALL = "SHARE_ALL_PARTNERS"


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What a receiver knows of one alert: its first known issuer and kind, the handling
    of its highest revision, the union of its ``share_with``. ``handling`` None: not
    known (an alert known only from the alert register, which holds broadcast alerts)."""

    issuer: str
    kind: str
    revision: int
    handling: str | None = None
    share_with: frozenset[str] = frozenset()

    def merged(self, later: AlertFacts) -> AlertFacts:
        """These facts with ``later``'s revision folded in; issuer and kind stay."""
        newer = later.revision >= self.revision and later.handling is not None
        return AlertFacts(
            issuer=self.issuer,
            kind=self.kind,
            revision=max(self.revision, later.revision),
            handling=later.handling if newer else self.handling,
            share_with=self.share_with | later.share_with,
        )

    def shared_with(self, agency: str) -> bool | None:
        """Whether the alert was shared with ``agency``; None when the handling is unknown."""
        if self.handling is None:
            return None
        return self.handling == SHARE_ALL or agency in self.share_with


@dataclass(frozen=True, slots=True)
class HitFacts:
    """Who reported a hit, on which alert."""

    reporter: str
    alert_id: str


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """Who made a request, and to whom (the union of the copies seen)."""

    requester: str
    targets: frozenset[str]


class Facts(Protocol):
    """What a receiver knows of earlier messages (None: not known)."""

    def alert(self, alert_id: str) -> AlertFacts | None: ...

    def hit(self, hit_id: str) -> HitFacts | None: ...

    def request(self, request_id: str) -> RequestFacts | None: ...


class NoFacts:
    """Knows nothing: only the stateless rules can refuse (``judge`` stops at the first
    unknown). For callers that check before sending."""

    def alert(self, alert_id: str) -> AlertFacts | None:
        return None

    def hit(self, hit_id: str) -> HitFacts | None:
        return None

    def request(self, request_id: str) -> RequestFacts | None:
        return None


@dataclass(frozen=True, slots=True)
class Lesson:
    """The facts one accepted message adds (at most one of the three)."""

    alert: tuple[str, AlertFacts] | None = None
    hit: tuple[str, HitFacts] | None = None
    request: tuple[str, RequestFacts] | None = None
