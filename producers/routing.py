"""Where each event goes: topic, and one envelope per copy (docs/architecture.md).

Broadcasts (SHARE_ALL_PARTNERS alerts and their status changes) go to the alert topic of
their kind, for every partner. A need-to-know alert (any other ``handling``: unknown
symbols fail closed) never touches those topics: it goes as one directed copy into the
inbox of each agency in {issuer} ∪ ``share_with`` (the issuer's copy is its record of
what it issued), each copy keyed by alert_id with a message id derived from the
original's like a request's fan-out; its status changes go to its current recipients and
a revision that narrows ``share_with`` withdraws it from the agencies dropped
(``narrowing_withdrawals``). Which alert is which comes from ``producers.audiences``.
Directed events go to the inbox of the agency addressed by the envelope's
``target``: the publisher cannot guess the issuer of an alert or the reporter of a hit,
so the sender must say. An AssistanceRequest is addressed by its own ``target_agencies``:
one copy per target, each with a message id derived from the request's (uuid5), so that
re-publishing the same request yields the same ids and receivers' de-duplication holds.
Problems are reported as ``ValidationFailed`` before anything is sent, named as the JSON
form names them (``hxtarget`` is the envelope's target).

Sender's copies (design.md, Authority): every AlertHit and AssistanceRequest also goes,
as one more copy, into the sender's own inbox (target == source == sender, message id
``fan_out_message_id(message id, sender)``), so that the reporter's and requester's
receivers know the hit or request when its confirmation or response comes back and can
judge who may send those (a request re-sent to one of its targets adds none: the first
send filed it). Receivers never deliver nor track such a copy. A hit addressed
to its reporter, or a request naming its requester as a target, is refused
(``self_addressed``): the sender's copy is the Publisher's to add.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from schemas import BROADCAST_TOPICS, Agreement, Envelope, ExchangeEvent, inbox_topic
from schemas.audiences import (
    ALERT_KIND_OF,
    NARROWED_REASON,
    Audience,
    AudienceLookup,
    audience_of,
)
from schemas.authority import self_addressed_refusal
from schemas.errors import Issue, ValidationFailed
from schemas.record_check import UUID_PATTERN

#: Events addressed to one agency's inbox by ``envelope.target``.
DIRECTED_TYPES: frozenset[str] = frozenset({"AlertHit", "HitConfirmation", "AssistanceResponse"})
#: Events the sender also files in its own inbox (the sender's copy).
SENDER_COPY_TYPES: frozenset[str] = frozenset({"AlertHit", "AssistanceRequest"})
#: The issue of a directed event that does not say whose inbox it goes to.
MISSING_TARGET = Issue("hxtarget", "a directed event needs the agency it is addressed to")


@dataclass(frozen=True, slots=True)
class Route:
    """One copy of an event: the topic it goes to and the envelope it carries."""

    topic: str
    envelope: Envelope


def fan_out_message_id(base_message_id: str, target: str) -> str:
    """The message id of the copy of ``base_message_id`` addressed to ``target``.

    ``uuid.uuid5(UUID(base), target)``, written out for the canonical ids every validated
    envelope carries (the same text in a third of the time: once per copy of every alert,
    hit and request sent); any other spelling goes through ``uuid`` itself.
    """
    if UUID_PATTERN.fullmatch(base_message_id):
        digest = bytearray(
            hashlib.sha1(  # noqa: S324 - RFC 9562's uuid5 is SHA-1 by definition
                bytes.fromhex(base_message_id.replace("-", "")) + target.encode()
            ).digest()[:16]
        )
        digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
        digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
        hexed = digest.hex()
        return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"
    try:
        base = uuid.UUID(base_message_id)
    except ValueError:
        raise ValidationFailed([Issue("id", f"{base_message_id!r} is not a uuid")]) from None
    return str(uuid.uuid5(base, target))


def routes(
    event: ExchangeEvent, agreement: Agreement, audiences: AudienceLookup | None = None
) -> list[Route]:
    """Every copy ``event`` is sent as; ``ValidationFailed`` naming the field when unroutable.

    ``audiences``: what the sender knows of earlier revisions (the Publisher always passes
    its book). Without it a status change is taken to be of a broadcast alert.
    """
    copies = _routes(event, agreement, audiences)
    envelope = event.envelope
    resend = envelope.event_type == "AssistanceRequest" and envelope.target is not None
    if envelope.event_type in SENDER_COPY_TYPES and not resend:
        copies.append(sender_copy_route(event))
    if audiences is not None:
        _references_stay_shared(event, copies, audiences)
    return copies


def sender_copy_route(event: ExchangeEvent) -> Route:
    """The sender's copy of a hit or request: into its own inbox, addressed to itself.
    ``ValidationFailed`` (rule ``self_addressed``) when the event names the sender as an
    addressee."""
    envelope = event.envelope
    refusal = self_addressed_refusal(envelope.event_type, event.record, envelope.target)
    if refusal is not None:
        raise ValidationFailed([Issue(refusal.field, str(refusal))])
    sender = envelope.source
    return Route(
        inbox_topic(sender),
        envelope.evolve(
            message_id=fan_out_message_id(envelope.message_id, sender),
            target=sender,
            correlation_id=envelope.correlation_id or envelope.message_id,
        ),
    )


def _routes(
    event: ExchangeEvent, agreement: Agreement, audiences: AudienceLookup | None
) -> list[Route]:
    """The copies for the event's addressees (broadcast, one inbox, or each target)."""
    envelope = event.envelope
    event_type = envelope.event_type
    if event_type in ALERT_KIND_OF:
        return _alert_routes(event, agreement, audiences)
    if event_type == "AlertStatusChange":
        return _status_change_routes(event, agreement, audiences)
    if event_type in DIRECTED_TYPES:
        target = _known_target(envelope.target, agreement)
        return [Route(inbox_topic(target), envelope)]
    if event_type == "AssistanceRequest":
        return _fan_out(envelope, list(event.record.get("target_agencies") or []), agreement)
    raise ValidationFailed([Issue("type", f"{event_type!r} is not an event type of the contract")])


#: Fields that name other alerts by id.
_REFERENCE_FIELDS = ("related_alerts", "linked_person_alerts", "linked_alerts")


def _references_stay_shared(
    event: ExchangeEvent, copies: list[Route], audiences: AudienceLookup
) -> None:
    """An event may name a need-to-know alert (by id) only to that alert's recipients.

    Checked against the alerts the sender knows (its own, from its copies): a request, a
    hit or a broadcast alert that names one would show its id to partners it was not
    shared with.
    """
    readers = {r.envelope.target for r in copies}
    issues = []
    for name in _REFERENCE_FIELDS:
        for index, alert_id in enumerate(event.record.get(name) or ()):
            known = audiences.get(str(alert_id))
            if known is None or not known.restricted:
                continue
            outside = sorted(
                "every partner" if reader is None else reader
                for reader in readers
                if reader is None or reader not in known.recipients
            )
            if outside:
                issues.append(
                    Issue(
                        f"{name}[{index}]",
                        f"names a need-to-know alert not shared with {', '.join(outside)}",
                    )
                )
    if issues:
        raise ValidationFailed(issues)


def _broadcast(envelope: Envelope, alert_kind: str) -> Route:
    if envelope.target is not None:
        raise ValidationFailed(
            [
                Issue(
                    "hxtarget",
                    f"{envelope.event_type} is broadcast to every partner; it takes no target",
                )
            ]
        )
    topic = BROADCAST_TOPICS.get(alert_kind)
    if topic is None:
        raise ValidationFailed(
            [Issue("alert_kind", f"is {alert_kind}, expected PERSON or VEHICLE")]
        )
    return Route(topic, envelope)


def _known_target(target: str | None, agreement: Agreement) -> str:
    if target is None:
        raise ValidationFailed([MISSING_TARGET])
    if target not in agreement.by_id:
        raise ValidationFailed([Issue("hxtarget", f"{target} is not an agency of the agreement")])
    return target


def _fan_out(envelope: Envelope, targets: list[str], agreement: Agreement) -> list[Route]:
    """A request's copies, one per target (``_directed_copies``)."""
    if not targets:
        raise ValidationFailed([Issue("target_agencies", "names no agency")])
    return _directed_copies(envelope, targets, agreement, "one of target_agencies")


# -- need to know -----------------------------------------------------------------------


def _alert_routes(
    event: ExchangeEvent, agreement: Agreement, audiences: AudienceLookup | None
) -> list[Route]:
    envelope, record = event.envelope, event.record
    audience = audience_of(envelope.event_type, record)
    if audience is None:  # not an alert type: routes() does not call this then
        raise ValidationFailed([Issue("type", f"{envelope.event_type} is not an alert")])
    previous = audiences.get(audience.alert_id) if audiences is not None else None
    if previous is not None and previous.restricted != audience.restricted:
        raise ValidationFailed([_handling_change(previous, record.get("handling"))])
    if not audience.restricted:
        return [_broadcast(envelope, audience.kind)]
    return _directed_copies(envelope, _issuer_first(audience), agreement)


def _status_change_routes(
    event: ExchangeEvent, agreement: Agreement, audiences: AudienceLookup | None
) -> list[Route]:
    envelope, record = event.envelope, event.record
    alert_id = str(record.get("alert_id"))
    if audiences is None:
        return [_broadcast(envelope, str(record.get("alert_kind")))]
    audience = audiences.get(alert_id)
    if audience is None:
        # Fail closed: sent to the broadcast topics it would show a need-to-know alert's
        # id to every partner; its recipients are unknown, so it is not sent at all.
        raise ValidationFailed(
            [
                Issue(
                    "alert_id",
                    "is not an alert this publisher knows (not in the alert register, nor "
                    "among the issuer's own copies in its inbox): cannot tell who may read "
                    "its status change",
                )
            ]
        )
    if not audience.restricted:
        return [_broadcast(envelope, str(record.get("alert_kind")))]
    if envelope.target is not None:  # one copy (a withdrawal for a dropped agency, a re-send)
        if envelope.target not in audience.reached:
            raise ValidationFailed(
                [Issue("hxtarget", f"{envelope.target} never received alert {alert_id}")]
            )
        return _directed_copies(envelope, sorted(audience.reached), agreement)
    return _directed_copies(envelope, _issuer_first(audience), agreement)


def _issuer_first(audience: Audience) -> list[str]:
    """The recipients, the issuer's own copy first (its record of what it sent)."""
    return sorted(audience.recipients, key=lambda agency: (agency != audience.issuer, agency))


def _directed_copies(
    envelope: Envelope,
    targets: list[str],
    agreement: Agreement,
    targets_are: str = "one of the alert's recipients",
) -> list[Route]:
    """One copy per target, each into its inbox: ``envelope.target``, when set, picks one
    of them (a re-send, or a withdrawal for one dropped agency); ``targets_are`` names the
    list in the refusal of any other."""
    if envelope.target is not None:
        if envelope.target not in targets:
            raise ValidationFailed([Issue("hxtarget", f"{envelope.target} is not {targets_are}")])
        targets = [envelope.target]
    correlation_id = envelope.correlation_id or envelope.message_id
    return [
        Route(
            inbox_topic(_known_target(target, agreement)),
            envelope.evolve(
                message_id=fan_out_message_id(envelope.message_id, target),
                target=target,
                correlation_id=correlation_id,
            ),
        )
        for target in dict.fromkeys(targets)
    ]


def _handling_change(previous: Audience, handling: object) -> Issue:
    was = "need-to-know" if previous.restricted else "broadcast to every partner"
    return Issue(
        "handling",
        f"is {handling}, but alert {previous.alert_id} was issued {was}: a revision cannot "
        "move an alert between broadcast and need-to-know handling; withdraw it and issue "
        "a new alert",
    )


def narrowing_withdrawals(event: ExchangeEvent, previous: Audience | None) -> list[ExchangeEvent]:
    """The WITHDRAWN status changes a revision owes the agencies its ``share_with`` drops.

    One per dropped agency, addressed to it alone (``target``), signed by the issuer like
    the revision, with a fixed ``reason`` code and a message id derived from the
    revision's, so that sending the revision again sends the same withdrawals.
    """
    envelope, record = event.envelope, event.record
    audience = audience_of(envelope.event_type, record)
    if audience is None or previous is None or not (audience.restricted and previous.restricted):
        return []
    dropped = sorted(previous.recipients - audience.recipients - {audience.issuer})
    withdrawals = []
    for agency in dropped:
        withdrawal = Envelope(
            event_type="AlertStatusChange",
            source=audience.issuer,
            message_id=fan_out_message_id(envelope.message_id, f"withdraw:{agency}"),
            created_at=envelope.created_at,
            correlation_id=envelope.correlation_id or envelope.message_id,
            causation_id=envelope.message_id,
            traceparent=envelope.traceparent,
            target=agency,
        )
        withdrawals.append(
            ExchangeEvent(
                withdrawal,
                {
                    "alert_id": audience.alert_id,
                    "alert_kind": audience.kind,
                    "status": "WITHDRAWN",
                    "reason": NARROWED_REASON,
                    "changed_at": envelope.created_at,
                    "agency": audience.issuer,
                },
            )
        )
    return withdrawals
