"""Which province receives which exchange event: the inbound bridge's routing decision.

A province's bridge reads every broadcast (``hx.alerts.*``) and the inboxes of its own
agencies, and must hand its local system exactly the events addressed to one of them:

- **directed** events (hits, confirmations, requests, responses) when the envelope's
  ``target`` is an agency of the province (the bridge reads only its own inboxes; the
  check keeps a misrouted message out all the same);
- **alerts** (PersonAlert, VehicleAlert, each revision) when an agency of the province is
  a recipient: every partner of the issuer under ``SHARE_ALL_PARTNERS``, else only the
  agencies in ``share_with`` (NEED_TO_KNOW, ORIGINATOR_CONTROL, and any handling symbol a
  partner may add later: an unknown rule fails closed). The issuer is never its own
  recipient;
- **status changes** (WITHDRAWN, RESOLVED, EXPIRED) when the province holds the alert,
  i.e. its local system received some revision of it (``HeldAlerts``): a withdrawal must
  reach every local system that has the alert, and no other — it names the alert, and
  its subject's alert is none of another province's business.

A province's own agencies' broadcasts: design.md broadcasts an alert "to every partner",
and the local system is the province's, shared by its cities. So a Xuzhou alert goes to
the Jiangsu system because Lianyungang and Suqian are partners of Xuzhou; a Shangqiu
alert does not go back to the Henan system, whose only agency issued it (the local
system has it already: it came from there), nor does a NEED_TO_KNOW alert whose
``share_with`` names no other agency of the issuer's province.

A **sender's copy** (a directed message whose target is its own source: the Publisher
files every hit and request in the sender's inbox too, so that its receivers can judge
the confirmations and responses that come back) is the sender's record, never a message
for its local system: filtered with the reason ``sender_copy`` (``sender_copy``).

Need-to-know alerts arrive differently (``producers.routing``): never on the broadcast
topics, but as one directed copy per recipient in its inbox — the issuer's own copy, and
one for each agency in ``share_with`` — and so do their status changes. ``decide_copy``
judges such a copy by its target alone: the issuer's own copy is its record, never
delivered back to its own province (another agency of that province in ``share_with``
has a copy of its own); an agency's copy is delivered when the target is in the
province and in ``share_with``; a status change when the target received the alert.
That a province's system gets each revision once although several of its agencies got
copies is ``bridge.inbound``'s business (it knows what was delivered).

Expiry is judged by the consumer runtime before the bridge sees a message (the outcome
``expired``); the bridge audits it as a refusal.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

#: Alerts: broadcast, addressed by handling and share_with.
ALERT_TYPES = frozenset({"PersonAlert", "VehicleAlert"})
#: Directed: addressed by the envelope's target (an inbox).
DIRECTED_TYPES = frozenset(
    {"AlertHit", "HitConfirmation", "AssistanceRequest", "AssistanceResponse"}
)
STATUS_CHANGE = "AlertStatusChange"
SHARE_ALL = "SHARE_ALL_PARTNERS"


class Reason(enum.StrEnum):
    """Why an event is or is not for a province (log field; closed set)."""

    ADDRESSED = "addressed"  # directed at one of the province's agencies
    SHARED = "shared"  # an alert one of the province's agencies may receive
    HELD = "held"  # a status change of an alert the province holds
    NOT_ADDRESSED = "not_addressed"
    NOT_SHARED = "not_shared"  # handling/share_with leave every agency of the province out
    NOT_HELD = "not_held"  # a status change of an alert the province never received
    UNKNOWN_TYPE = "unknown_type"
    SENDER_COPY = "sender_copy"  # the sender's own record of a hit or request it sent
    ISSUER_COPY = "issuer_copy"  # a need-to-know alert's copy for its own issuer


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether to deliver, why, and the province's agencies the event is for."""

    deliver: bool
    reason: Reason
    #: The agencies of the province the event is addressed to (empty when filtered, and
    #: for status changes, which go to the province's system as a whole).
    agencies: tuple[str, ...] = ()


def alert_recipients(record: Mapping[str, Any], agencies: Collection[str]) -> tuple[str, ...]:
    """Of ``agencies``, those an alert record is for: partners of the issuer, restricted to
    ``share_with`` unless the handling is SHARE_ALL_PARTNERS."""
    issuer = record.get("issuing_agency")
    if record.get("handling") == SHARE_ALL:
        return tuple(a for a in agencies if a != issuer)
    shared = set(record.get("share_with") or ())
    return tuple(a for a in agencies if a != issuer and a in shared)


def decide(
    event_type: str,
    record: Mapping[str, Any],
    target: str | None,
    province_agencies: Collection[str],
    *,
    holds_alert: bool = False,
) -> Decision:
    """The routing decision for one event at the bridge of the province whose agency ids
    are ``province_agencies``; ``holds_alert`` says whether that province holds the alert
    a status change names."""
    if event_type in DIRECTED_TYPES:
        if target is not None and target in province_agencies:
            return Decision(True, Reason.ADDRESSED, (target,))
        return Decision(False, Reason.NOT_ADDRESSED)
    if event_type in ALERT_TYPES:
        recipients = alert_recipients(record, province_agencies)
        if recipients:
            return Decision(True, Reason.SHARED, recipients)
        return Decision(False, Reason.NOT_SHARED)
    if event_type == STATUS_CHANGE:
        if holds_alert:
            return Decision(True, Reason.HELD)
        return Decision(False, Reason.NOT_HELD)
    return Decision(False, Reason.UNKNOWN_TYPE)


def sender_copy(source: str, target: str | None) -> Decision | None:
    """The decision for a sender's copy (target == source): filtered; None for any other."""
    if target is not None and target == source:
        return Decision(False, Reason.SENDER_COPY)
    return None


def is_copy(event_type: str, target: str | None) -> bool:
    """Whether a message is a need-to-know alert's (or its status change's) directed copy."""
    return target is not None and (event_type in ALERT_TYPES or event_type == STATUS_CHANGE)


def decide_copy(
    event_type: str,
    record: Mapping[str, Any],
    target: str | None,
    province_agencies: Collection[str],
    *,
    held_by: Collection[str] = (),
) -> Decision:
    """The decision for one directed copy (``is_copy``): delivered for its target only.

    ``held_by``: the province's agencies that received the alert (for a status change).
    """
    if target is None or target not in province_agencies:
        return Decision(False, Reason.NOT_ADDRESSED)
    if event_type in ALERT_TYPES:
        if target == record.get("issuing_agency"):
            return Decision(False, Reason.ISSUER_COPY)
        if alert_recipients(record, (target,)):
            return Decision(True, Reason.SHARED, (target,))
        return Decision(False, Reason.NOT_SHARED)
    if event_type == STATUS_CHANGE:
        if target == record.get("agency"):
            return Decision(False, Reason.ISSUER_COPY)
        if target in held_by:
            return Decision(True, Reason.HELD, (target,))
        return Decision(False, Reason.NOT_HELD)
    return Decision(False, Reason.UNKNOWN_TYPE)
