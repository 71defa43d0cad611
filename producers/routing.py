"""Where each event goes: topic, and one envelope per copy (docs/architecture.md).

Broadcasts (alerts and their status changes) go to the alert topic of their kind, for
every partner. Directed events go to the inbox of the agency addressed by the envelope's
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

import uuid
from dataclasses import dataclass

from schemas import BROADCAST_TOPICS, Agreement, Envelope, ExchangeEvent, inbox_topic
from schemas.authority import self_addressed_refusal
from schemas.errors import Issue, ValidationFailed

#: Alerts: the alert kind whose broadcast topic carries them.
ALERT_KIND_OF: dict[str, str] = {"PersonAlert": "PERSON", "VehicleAlert": "VEHICLE"}

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
    """The message id of the copy of ``base_message_id`` addressed to ``target``."""
    try:
        base = uuid.UUID(base_message_id)
    except ValueError:
        raise ValidationFailed([Issue("id", f"{base_message_id!r} is not a uuid")]) from None
    return str(uuid.uuid5(base, target))


def routes(event: ExchangeEvent, agreement: Agreement) -> list[Route]:
    """Every copy ``event`` is sent as; ``ValidationFailed`` naming the field when unroutable."""
    copies = _addressed_routes(event, agreement)
    envelope = event.envelope
    resend = envelope.event_type == "AssistanceRequest" and envelope.target is not None
    if envelope.event_type in SENDER_COPY_TYPES and not resend:
        copies.append(sender_copy_route(event))
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


def _addressed_routes(event: ExchangeEvent, agreement: Agreement) -> list[Route]:
    """The copies for the event's addressees (broadcast, one inbox, or each target)."""
    envelope = event.envelope
    event_type = envelope.event_type
    if event_type in ALERT_KIND_OF:
        return [_broadcast(envelope, ALERT_KIND_OF[event_type])]
    if event_type == "AlertStatusChange":
        return [_broadcast(envelope, str(event.record.get("alert_kind")))]
    if event_type in DIRECTED_TYPES:
        target = _known_target(envelope.target, agreement)
        return [Route(inbox_topic(target), envelope)]
    if event_type == "AssistanceRequest":
        return _fan_out(envelope, list(event.record.get("target_agencies") or []), agreement)
    raise ValidationFailed([Issue("type", f"{event_type!r} is not an event type of the contract")])


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
    """One copy per target; ``envelope.target``, when set, picks one of them (a re-send)."""
    if not targets:
        raise ValidationFailed([Issue("target_agencies", "names no agency")])
    if envelope.target is not None:
        if envelope.target not in targets:
            raise ValidationFailed(
                [Issue("hxtarget", f"{envelope.target} is not one of target_agencies")]
            )
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
