"""Authority: who may say what (design.md) — the rules, pure, in one place.

A valid signature proves who sent a message; it does not make the message allowed. Every
receiver judges each message against the Authority table before anything is handed on
(``consumers.AuthorityGate`` runs ``judge`` in the consumer runtime), ``hxbus publish``
runs the same rules before sending, and validation words the author rule the same way.

- PersonAlert / VehicleAlert: signed by ``issuing_agency``; a revision keeps the issuer
  of the alert as first known;
- AlertStatusChange: signed by the alert's issuer (``agency``); ``alert_kind`` is the
  alert's kind;
- AlertHit: signed by ``reporting_agency``; sent to the inbox of the alert's issuer; the
  alert was shared with the reporter;
- HitConfirmation: signed by the alert's issuer (``agency``); sent to the inbox of the
  hit's reporter; names the hit's alert;
- AssistanceRequest: signed by ``requesting_agency``; each copy goes to one of
  ``target_agencies``;
- AssistanceResponse: signed by ``responding_agency``, one of the request's
  ``target_agencies``; sent to the requester's inbox;
- anything read from an inbox: addressed to the agency whose inbox carries it.

A rule that needs what came before asks a ``Facts`` (``schemas.authority_facts``: the
alert's issuer, kind, handling and share_with, a hit's reporter and alert, a request's
requester and targets). When the
facts are not there, ``judge`` raises ``AuthorityUnknown`` (retriable): the receiver
retries, it never accepts blindly. The stateless rules of each event come first, so a
caller without facts (``hxbus publish``) checks all of those before the first unknown.

Revisions: a revision's issuer must be the issuer of the alert as first known. A repeated
or lower revision from that issuer is no authority problem — copies of one revision
arrive in several inboxes, and copies on different topics arrive out of order — so it is
accepted here and the receivers' own revision handling (highest wins) applies.

Sender's copies: the Publisher also sends every AlertHit and AssistanceRequest into the
sender's own inbox (target == source == sender), so that the reporter's and requester's
receivers know the hit and the request when a confirmation or response comes back. Such
a copy is checked for its author and inbox only, teaches its facts, and is never handed
to a local system (``bridge.recipients``) nor tracked.

Refusals name the rule and only ids (agencies, alerts, hits, requests): never the value
of a personal field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.authority_facts import (
    AlertFacts,
    Facts,
    HitFacts,
    Lesson,
    RequestFacts,
)
from schemas.errors import AuthorityRefused, AuthorityUnknown

ISSUER_MISMATCH = "issuer_mismatch"
REVISION_ISSUER_CHANGED = "revision_issuer_changed"
STATUS_NOT_BY_ISSUER = "status_not_by_issuer"
STATUS_KIND_MISMATCH = "status_kind_mismatch"
HIT_NOT_BY_REPORTER = "hit_not_by_reporter"
HIT_NOT_TO_ISSUER = "hit_not_to_issuer"
HIT_ALERT_NOT_SHARED = "hit_alert_not_shared"
CONFIRMATION_NOT_BY_ISSUER = "confirmation_not_by_issuer"
CONFIRMATION_WRONG_ALERT = "confirmation_wrong_alert"
CONFIRMATION_NOT_TO_REPORTER = "confirmation_not_to_reporter"
REQUEST_NOT_BY_REQUESTER = "request_not_by_requester"
REQUEST_COPY_NOT_A_TARGET = "request_copy_not_a_target"
RESPONSE_NOT_BY_RESPONDER = "response_not_by_responder"
RESPONSE_NOT_A_TARGET = "response_not_a_target"
RESPONSE_NOT_TO_REQUESTER = "response_not_to_requester"
TARGET_NOT_INBOX_OWNER = "target_not_inbox_owner"
SELF_ADDRESSED = "self_addressed"
ALERT_UNKNOWN = "alert_unknown"
HIT_UNKNOWN = "hit_unknown"
REQUEST_UNKNOWN = "request_unknown"

#: The closed set of rule ids (the ``rule`` label of ``hx_authority_rejections_total``).
RULES: tuple[str, ...] = (
    ISSUER_MISMATCH,
    REVISION_ISSUER_CHANGED,
    STATUS_NOT_BY_ISSUER,
    STATUS_KIND_MISMATCH,
    HIT_NOT_BY_REPORTER,
    HIT_NOT_TO_ISSUER,
    HIT_ALERT_NOT_SHARED,
    CONFIRMATION_NOT_BY_ISSUER,
    CONFIRMATION_WRONG_ALERT,
    CONFIRMATION_NOT_TO_REPORTER,
    REQUEST_NOT_BY_REQUESTER,
    REQUEST_COPY_NOT_A_TARGET,
    RESPONSE_NOT_BY_RESPONDER,
    RESPONSE_NOT_A_TARGET,
    RESPONSE_NOT_TO_REQUESTER,
    TARGET_NOT_INBOX_OWNER,
    SELF_ADDRESSED,
    ALERT_UNKNOWN,
    HIT_UNKNOWN,
    REQUEST_UNKNOWN,
)

ALERT_KINDS: dict[str, str] = {"PersonAlert": "PERSON", "VehicleAlert": "VEHICLE"}


@dataclass(frozen=True, slots=True)
class Said:
    """One message as the rules see it: who signed it, to whom, in whose inbox."""

    event_type: str
    record: Mapping[str, Any]
    source: str
    target: str | None = None
    #: The agency whose inbox carried the message; None when not read from an inbox.
    inbox_owner: str | None = None

    @property
    def sender_copy(self) -> bool:
        """A directed message addressed to its own source: the sender's record of it."""
        return self.target is not None and self.target == self.source


def _text(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    return str(value) if value is not None else "none"


# -- the stateless rules: who signs -------------------------------------------------------

#: Per event type: the record field naming its author, the rule, and what the author is.
AUTHORS: dict[str, tuple[str, str, str]] = {
    "PersonAlert": ("issuing_agency", ISSUER_MISMATCH, "issuing_agency"),
    "VehicleAlert": ("issuing_agency", ISSUER_MISMATCH, "issuing_agency"),
    "AlertStatusChange": ("agency", STATUS_NOT_BY_ISSUER, "agency (the alert's issuer)"),
    "AlertHit": ("reporting_agency", HIT_NOT_BY_REPORTER, "reporting_agency"),
    "HitConfirmation": ("agency", CONFIRMATION_NOT_BY_ISSUER, "agency (the alert's issuer)"),
    "AssistanceRequest": ("requesting_agency", REQUEST_NOT_BY_REQUESTER, "requesting_agency"),
    "AssistanceResponse": ("responding_agency", RESPONSE_NOT_BY_RESPONDER, "responding_agency"),
}


def author_refusal(
    event_type: str, record: Mapping[str, Any], source: str
) -> AuthorityRefused | None:
    """The refusal of a message whose source is not the author its record names."""
    known = AUTHORS.get(event_type)
    if known is None:
        return None
    name, rule, what = known
    author = _text(record, name)
    if author == source:
        return None
    return AuthorityRefused(
        rule,
        f"the source {source} is not the {what} {author}: an agency speaks only for itself",
        name,
    )


def self_addressed_refusal(
    event_type: str, record: Mapping[str, Any], target: str | None
) -> AuthorityRefused | None:
    """A hit addressed to its reporter, or a request naming its requester as a target:
    the sender's copy is the Publisher's to add, never an addressee (``hxbus publish``)."""
    if event_type == "AlertHit" and target is not None and target == record.get("reporting_agency"):
        return AuthorityRefused(
            SELF_ADDRESSED,
            f"the hit is addressed to its reporter {target}: send it to the alert's issuer",
            "hxtarget",
        )
    if event_type == "AssistanceRequest":
        requester = record.get("requesting_agency")
        if requester in (record.get("target_agencies") or ()):
            return AuthorityRefused(
                SELF_ADDRESSED,
                f"target_agencies names the requester {requester}: a request goes to others",
                "target_agencies",
            )
    return None


# -- the whole table ----------------------------------------------------------------------


def judge(said: Said, facts: Facts) -> None:
    """Raise ``AuthorityRefused`` when ``said`` breaks a rule, ``AuthorityUnknown`` when a
    rule needs facts ``facts`` does not have; return when the message may be handed on."""
    if said.inbox_owner is not None and said.target != said.inbox_owner:
        raise AuthorityRefused(
            TARGET_NOT_INBOX_OWNER,
            f"the message is addressed to {said.target or 'nobody'}, but travels in the "
            f"inbox of {said.inbox_owner}",
            "hxtarget",
        )
    refusal = author_refusal(said.event_type, said.record, said.source)
    if refusal is not None:
        raise refusal
    check = _CHECKS.get(said.event_type)
    if check is not None:
        check(said, facts)


def _alert_facts(facts: Facts, alert_id: str) -> AlertFacts:
    known = facts.alert(alert_id)
    if known is None:
        raise AuthorityUnknown(
            ALERT_UNKNOWN, f"alert {alert_id} is not known to this receiver yet", "alert_id"
        )
    return known


def _alert(said: Said, facts: Facts) -> None:
    record = said.record
    alert_id = _text(record, "alert_id")
    known = facts.alert(alert_id)
    if known is None:
        return  # the first revision this receiver sees: it makes the issuer known
    if known.issuer != said.source:
        raise AuthorityRefused(
            REVISION_ISSUER_CHANGED,
            f"alert {alert_id} was issued by {known.issuer}; {said.source} may not revise it "
            f"(revision {_text(record, 'revision')})",
            "issuing_agency",
        )


def _status_change(said: Said, facts: Facts) -> None:
    record = said.record
    alert_id = _text(record, "alert_id")
    known = _alert_facts(facts, alert_id)
    if known.issuer != said.source:
        raise AuthorityRefused(
            STATUS_NOT_BY_ISSUER,
            f"alert {alert_id} was issued by {known.issuer}; {said.source} may not change "
            "its status",
            "agency",
        )
    if known.kind != record.get("alert_kind"):
        raise AuthorityRefused(
            STATUS_KIND_MISMATCH,
            f"alert {alert_id} is a {known.kind} alert, the status change says "
            f"{_text(record, 'alert_kind')}",
            "alert_kind",
        )


def _hit(said: Said, facts: Facts) -> None:
    if said.sender_copy:
        return
    record = said.record
    alert_id = _text(record, "alert_id")
    known = _alert_facts(facts, alert_id)
    if said.target != known.issuer:
        raise AuthorityRefused(
            HIT_NOT_TO_ISSUER,
            f"a hit on alert {alert_id} goes to its issuer {known.issuer}, not to "
            f"{said.target or 'nobody'}",
            "hxtarget",
        )
    if known.shared_with(said.source) is False:
        raise AuthorityRefused(
            HIT_ALERT_NOT_SHARED,
            f"alert {alert_id} was not shared with the reporter {said.source}",
            "reporting_agency",
        )


def _confirmation(said: Said, facts: Facts) -> None:
    record = said.record
    hit_id = _text(record, "hit_id")
    hit = facts.hit(hit_id)
    if hit is None:
        raise AuthorityUnknown(
            HIT_UNKNOWN, f"hit {hit_id} is not known to this receiver yet", "hit_id"
        )
    if hit.alert_id != record.get("alert_id"):
        raise AuthorityRefused(
            CONFIRMATION_WRONG_ALERT,
            f"hit {hit_id} is on alert {hit.alert_id}, the confirmation names "
            f"{_text(record, 'alert_id')}",
            "alert_id",
        )
    if said.target != hit.reporter:
        raise AuthorityRefused(
            CONFIRMATION_NOT_TO_REPORTER,
            f"the confirmation of hit {hit_id} goes to its reporter {hit.reporter}, not to "
            f"{said.target or 'nobody'}",
            "hxtarget",
        )
    known = _alert_facts(facts, hit.alert_id)
    if known.issuer != said.source:
        raise AuthorityRefused(
            CONFIRMATION_NOT_BY_ISSUER,
            f"alert {hit.alert_id} was issued by {known.issuer}; {said.source} may not "
            f"confirm hit {hit_id}",
            "agency",
        )


def _request(said: Said, facts: Facts) -> None:
    record = said.record
    request_id = _text(record, "request_id")
    # No target: not routed yet (a desk's request before its fan-out); in an inbox the
    # inbox rule has refused it already.
    copy = said.target is not None and not said.sender_copy
    if copy and said.target not in (record.get("target_agencies") or ()):
        raise AuthorityRefused(
            REQUEST_COPY_NOT_A_TARGET,
            f"a copy of request {request_id} goes to {said.target or 'nobody'}, which is not "
            "one of its target_agencies",
            "hxtarget",
        )
    known = facts.request(request_id)
    if known is not None and known.requester != said.source:
        raise AuthorityRefused(
            REQUEST_NOT_BY_REQUESTER,
            f"request {request_id} was made by {known.requester}, not {said.source}",
            "requesting_agency",
        )


def _response(said: Said, facts: Facts) -> None:
    record = said.record
    request_id = _text(record, "request_id")
    known = facts.request(request_id)
    if known is None:
        raise AuthorityUnknown(
            REQUEST_UNKNOWN, f"request {request_id} is not known to this receiver yet", "request_id"
        )
    if said.source not in known.targets:
        raise AuthorityRefused(
            RESPONSE_NOT_A_TARGET,
            f"{said.source} is not a target of request {request_id}",
            "responding_agency",
        )
    if said.target != known.requester:
        raise AuthorityRefused(
            RESPONSE_NOT_TO_REQUESTER,
            f"the response to request {request_id} goes to its requester {known.requester}, "
            f"not to {said.target or 'nobody'}",
            "hxtarget",
        )


_CHECKS = {
    "PersonAlert": _alert,
    "VehicleAlert": _alert,
    "AlertStatusChange": _status_change,
    "AlertHit": _hit,
    "HitConfirmation": _confirmation,
    "AssistanceRequest": _request,
    "AssistanceResponse": _response,
}


# -- what a message that passed teaches ---------------------------------------------------


def lesson(said: Said) -> Lesson | None:
    """What ``said`` (already judged) teaches the receiver, None when nothing."""
    record = said.record
    if said.event_type in ALERT_KINDS:
        return Lesson(
            alert=(
                _text(record, "alert_id"),
                AlertFacts(
                    issuer=said.source,
                    kind=ALERT_KINDS[said.event_type],
                    revision=int(record.get("revision") or 1),
                    handling=_text(record, "handling"),
                    share_with=frozenset(str(a) for a in record.get("share_with") or ()),
                ),
            )
        )
    if said.event_type == "AlertHit":
        hit = HitFacts(said.source, _text(record, "alert_id"))
        return Lesson(hit=(_text(record, "hit_id"), hit))
    if said.event_type == "AssistanceRequest":
        targets = frozenset(str(a) for a in record.get("target_agencies") or ())
        return Lesson(request=(_text(record, "request_id"), RequestFacts(said.source, targets)))
    return None
