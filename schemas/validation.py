"""Validation at the edge: a record (or the ``data`` of a JSON event) against the rules.

``validate_record`` runs the event type's model with the agreement and the issue time as
context and returns the record form, or raises ``ValidationFailed`` listing every broken
rule as ``Issue(path, rule)`` with plain words (never pydantic's own phrasing).
``validate_event`` adds the envelope's rules: the source publishes only its own events,
broadcasts have no target, a request's target is one of its target agencies.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from schemas.agreement import Agreement
from schemas.audiences import is_restricted
from schemas.authority import author_refusal
from schemas.edge import CREATED_MIN, CREATED_RANGE_RULE, TIME_MAX, edge_issues, text_rule
from schemas.envelope import EVENT_TYPES, Envelope, ExchangeEvent, utc_now_ms
from schemas.errors import Issue, ValidationFailed
from schemas.models import (
    AlertHit,
    AlertStatusChange,
    AssistanceRequest,
    AssistanceResponse,
    ExchangeModel,
    HitConfirmation,
    PersonAlert,
    VehicleAlert,
    tables_for,
)
from schemas.models.types import normalise_uuid, parse_timestamp

EVENT_MODELS: dict[str, type[ExchangeModel]] = {
    "PersonAlert": PersonAlert,
    "VehicleAlert": VehicleAlert,
    "AlertStatusChange": AlertStatusChange,
    "AlertHit": AlertHit,
    "HitConfirmation": HitConfirmation,
    "AssistanceRequest": AssistanceRequest,
    "AssistanceResponse": AssistanceResponse,
}

BROADCAST_TYPES = frozenset({"PersonAlert", "VehicleAlert", "AlertStatusChange"})

_PLAIN_RULES = {
    "missing": "is required",
    "extra_forbidden": "is not a field of the contract (misspelt?)",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "model_attributes_type": "must be an object",
}


def validate_record(
    event_type: str,
    data: Mapping[str, Any],
    agreement: Agreement,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The record form of ``data``; ValidationFailed listing every broken rule.

    ``now`` is the issue time (the envelope's created_at): deadlines count from it.
    """
    model = EVENT_MODELS.get(event_type)
    if model is None:
        raise ValidationFailed([Issue("type", _unknown_type_rule(event_type))])
    edge = edge_issues(data)
    if edge:  # refused before the models: no rule below need cope with such a value
        raise ValidationFailed(edge)
    context = {
        "agreement": agreement,
        "tables": tables_for(agreement),
        "now": utc_now_ms() if now is None else now,
    }
    try:
        return model.model_validate(data, context=context).to_record()
    except ValidationError as exc:
        raise ValidationFailed(issues_from(exc)) from None


def validate_event(
    envelope: Envelope, data: Mapping[str, Any], agreement: Agreement
) -> ExchangeEvent:
    """The envelope and record of one event, checked together; ValidationFailed otherwise.

    Data issues carry the prefix ``data.``; envelope issues the CloudEvents attribute name.
    """
    issues = envelope_issues(envelope, agreement)
    record: dict[str, Any] | None = None
    if envelope.event_type in EVENT_MODELS:
        try:
            record = validate_record(envelope.event_type, data, agreement, now=envelope.created_at)
        except ValidationFailed as failed:
            issues.extend(prefixed(failed.issues, "data"))
    if record is not None:
        reported = {issue.path for issue in issues}  # an unknown source is reason enough
        issues.extend(i for i in _envelope_fits_record(envelope, record) if i.path not in reported)
    if issues or record is None:
        raise ValidationFailed(issues)
    return ExchangeEvent(envelope, record)


def envelope_issues(envelope: Envelope, agreement: Agreement) -> list[Issue]:
    """Issues of the envelope alone: a known type, agreement agencies as source and target,
    uuids as message ids, a creation time in range.

    Every way in builds an ``Envelope`` (the JSON form, each province's outbox profile), so
    these checks are the one place where a message id such as ``../../x`` is refused.
    """
    issues = []
    if envelope.event_type not in EVENT_MODELS:
        issues.append(Issue("type", _unknown_type_rule(envelope.event_type)))
    if envelope.source not in agreement.by_id:
        issues.append(Issue("source", "is not an agency of the agreement"))
    if envelope.target is not None and envelope.target not in agreement.by_id:
        issues.append(Issue("hxtarget", "is not an agency of the agreement"))
    for name, value in (
        ("id", envelope.message_id),
        ("correlationid", envelope.correlation_id),
        ("causationid", envelope.causation_id),
    ):
        if value is None and name != "id":
            continue
        rule = _uuid_rule(value)
        if rule is not None:
            issues.append(Issue(name, rule))
    if envelope.traceparent is not None and text_rule(envelope.traceparent) is not None:
        issues.append(Issue("traceparent", "must be a W3C traceparent"))
    created = envelope.created_at
    if not isinstance(created, datetime) or created.tzinfo is None:
        issues.append(Issue("time", "must be a time with a zone offset"))
    elif not CREATED_MIN <= created <= TIME_MAX:
        issues.append(Issue("time", CREATED_RANGE_RULE))
    return issues


def _uuid_rule(value: object) -> str | None:
    """Why ``value`` is not a canonical (lower-case) uuid, or None."""
    if not isinstance(value, str):
        return "must be a uuid"
    try:
        canonical = normalise_uuid(value)
    except ValueError as exc:
        return str(exc)
    if canonical != value:
        return "must be a uuid in lower case"
    return None


def _envelope_fits_record(envelope: Envelope, record: Mapping[str, Any]) -> list[Issue]:
    event_type = envelope.event_type
    issues = []
    # Worded as the receivers word it (schemas.authority): a desk reads the same rule.
    refusal = author_refusal(event_type, record, envelope.source)
    if refusal is not None:
        issues.append(Issue("source", str(refusal)))
    if envelope.target is not None:
        if event_type in BROADCAST_TYPES and not _may_be_directed(event_type, record, envelope):
            issues.append(
                Issue("hxtarget", f"a {event_type} goes to every partner: leave hxtarget out")
            )
        elif event_type == "AssistanceRequest" and envelope.target not in record["target_agencies"]:
            issues.append(Issue("hxtarget", "must be one of the request's target_agencies"))
    return issues


def _may_be_directed(event_type: str, record: Mapping[str, Any], envelope: Envelope) -> bool:
    """A need-to-know alert's copy names one of its recipients; a status change may name
    one (routing checks that it received the alert: only the sender's memory knows)."""
    if event_type == "AlertStatusChange":
        return True
    if not is_restricted(record.get("handling")):
        return False
    return envelope.target in {record.get("issuing_agency"), *(record.get("share_with") or ())}


def normalise_time(value: Any) -> datetime:
    """An RFC 3339 text or aware datetime as UTC milliseconds; ValueError naming the rule.

    The exchange's one reading of a time, for callers outside the models (command-line
    options such as ``--start``) so that they accept exactly what the JSON form accepts.
    """
    return parse_timestamp(value)


def issues_from(error: ValidationError) -> list[Issue]:
    """Pydantic's errors as issues: dotted paths with ``[i]`` indexes, plain-words rules."""
    return [Issue(_path(detail["loc"]), _rule(detail)) for detail in error.errors()]


def prefixed(issues: tuple[Issue, ...] | list[Issue], prefix: str) -> list[Issue]:
    """The same issues under ``prefix`` (``subject.id_number`` → ``data.subject.id_number``)."""
    return [
        Issue(f"{prefix}.{i.path}" if i.path and i.path[0] != "[" else f"{prefix}{i.path}", i.rule)
        for i in issues
    ]


def _path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def _rule(detail: ErrorDetails) -> str:
    kind = detail["type"]
    ctx = detail.get("ctx", {})
    if kind == "value_error":
        return str(ctx.get("error", detail["msg"]))
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        return f"must be {expected}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}"
    return _PLAIN_RULES.get(kind, detail["msg"])


def _unknown_type_rule(event_type: str) -> str:
    return f"must be one of {', '.join(EVENT_TYPES)}"
