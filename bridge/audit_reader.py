"""Reading the audit trail of one alert: who received it, when, and did the withdrawal
reach them (``hxbus audit --alert ID``).

Audit records are keyed by the alert id (``bridge.audit_writer.audit_key``), so every
record of one alert (its revisions, status changes and hits, at every bridge) is in the one
partition the producer's default partitioner chose for that key: the reader reads that
partition only, from the beginning to its end offset now, and keeps the records whose key
is the alert id. (If ``hx.audit`` ever gets more partitions, older records stay where they
were: ``all_partitions=True`` reads them all.)

Records are written at least once (a crash between the audit flush and the commit writes
a batch again, with the same ``audit_id``): the reader keeps one per ``audit_id`` (a
verified one, when a forger wrote another record under a genuine ``audit_id``).

Every record is verified (``audit_problem``): signed (``hx_signature``) with a key the
agreement lists for a province's bridge, by the bridge of the province the record names
(``ce_source`` = ``bridge-<province>``), and, when it says a message reached an agency's
local system, that agency is one of that province's. A bridge's login can write to
``hx.audit``, but it cannot make a record verify in another bridge's name, nor claim a
delivery outside its own province. Each record carries ``verified`` (and
``unverified_reason``); nothing is dropped here, the command decides what to show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bridge.audit_writer import AUDIT_RECORD_TYPE, audit_codec
from runtime import Settings, Verifier, bridge_verifier, open_consumer
from runtime.kafka import TopicPartition, partition_for_key
from runtime.topic_end import read_to_end
from schemas import AUDIT_TOPIC, Agreement, bridge_principal, load_agreement
from schemas.errors import BrokerError, DecodeError, SecurityError
from schemas.timestamps import format_time

_ALERT_TYPES = frozenset({"PersonAlert", "VehicleAlert"})
_STATUS_CHANGE = "AlertStatusChange"
#: Outcomes that mean the message is in the agency's local system.
_RECEIVED = frozenset({"DELIVERED", "DUPLICATE"})


@dataclass(frozen=True, slots=True)
class AuditMessage:
    """One audit record as read, in the shape a ``runtime.Verifier`` checks."""

    topic: str
    key: bytes | None
    value: bytes
    header_list: list[tuple[str, bytes]]

    @property
    def source(self) -> str:
        found = [v for n, v in self.header_list if n == "ce_source"]
        return found[0].decode("utf-8", "replace") if len(found) == 1 else ""


def audit_problem(
    verifier: Verifier | None,
    agreement: Agreement,
    message: AuditMessage,
    record: Mapping[str, Any],
) -> str | None:
    """Why ``record`` cannot be trusted as written by the bridge it names; None if it can."""
    if verifier is None:
        return "the agreement lists no bridge key: nothing can be verified"
    try:
        verifier.verify(message)
    except SecurityError as exc:
        return str(exc)
    province = str(record.get("province") or "")
    if province not in agreement.provinces:
        return f"province: {province!r} is not a province of the agreement"
    if message.source != bridge_principal(province):
        return f"ce_source: signed by {message.source}, but the record names province {province}"
    recipient = record.get("recipient_agency")
    if record.get("outcome") in _RECEIVED and recipient is not None:
        agency = agreement.by_id.get(str(recipient))
        if agency is None or agency.province != province:
            return (
                f"recipient_agency: {recipient} is not an agency of province {province}; "
                "a bridge delivers only into its own province"
            )
    return None


def read_alert_records(
    settings: Settings,
    alert_id: str,
    *,
    agreement: Agreement | None = None,
    topic: str = AUDIT_TOPIC,
    all_partitions: bool = False,
    timeout_s: float = 60.0,
) -> list[dict[str, Any]]:
    """Every audit record of ``alert_id`` on ``topic`` now, one per ``audit_id``, in the
    order they were written, each with ``verified`` and ``unverified_reason`` (checked
    against the bridge keys of ``agreement``, default the settings' agreement)."""
    agreement = agreement or load_agreement(settings.agreement)
    verifier = bridge_verifier(agreement, role="audit")
    key = alert_id.encode()
    codec = audit_codec()
    consumer = open_consumer(settings)
    try:
        numbers = sorted(consumer.partitions_for_topic(topic))
        if not numbers:
            # kafka-python answers a topic this login may not describe as a missing one.
            raise BrokerError(
                f"topic {topic}: does not exist (no bridge has audited yet) or this login "
                f"may not read it: only the auditor reads the audit "
                '(eval "$(hxbus credentials --user auditor)")'
            )
        if not all_partitions:
            numbers = [partition_for_key(key, numbers)]
        partitions = [TopicPartition(topic, n) for n in numbers]
        starts = consumer.beginning_offsets(partitions)
        records: dict[str, dict[str, Any]] = {}
        for message in read_to_end(consumer, starts, what=f"read {topic}", stall_s=timeout_s):
            if message.key != key or message.value is None:
                continue
            try:
                event_type, record = codec.decode(message.value)
            except DecodeError:
                continue  # not an audit record of this schema: not ours to read
            if event_type != AUDIT_RECORD_TYPE:
                continue
            read = AuditMessage(
                message.topic,
                message.key,
                message.value,
                list(message.headers),
            )
            problem = audit_problem(verifier, agreement, read, record)
            record["verified"] = problem is None
            record["unverified_reason"] = problem
            audit_id = str(record["audit_id"])
            earlier = records.get(audit_id)
            if earlier is None or (record["verified"] and not earlier["verified"]):
                records[audit_id] = record
        return list(records.values())
    finally:
        consumer.close()


@dataclass
class AgencyTrail:
    """What one agency's local system got of the alert."""

    agency: str
    province: str | None
    #: Alert revisions that reached the agency (audit records, oldest first).
    alert: list[dict[str, Any]] = field(default_factory=list)
    #: Status changes (withdrawn, resolved, expired) that reached it.
    status_changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def withdrawal_reached(self) -> bool:
        return any(r["outcome"] in _RECEIVED for r in self.status_changes)


@dataclass
class AlertTrail:
    """The lineage of one alert: per receiving agency, and everything else (refusals)."""

    alert_id: str
    issuer: str | None
    agencies: list[AgencyTrail]
    #: Records naming no agency (expired, rejected, dead-lettered at a province) and hits.
    other: list[dict[str, Any]]


def alert_trail(alert_id: str, records: Iterable[Mapping[str, Any]]) -> AlertTrail:
    """Group the records of one alert by receiving agency."""
    by_agency: dict[str, AgencyTrail] = {}
    other: list[dict[str, Any]] = []
    issuer = None
    for record in sorted(records, key=lambda r: r["recorded_at"]):
        row = dict(record)
        event_type = row["event_type"]
        if event_type in _ALERT_TYPES and issuer is None:
            issuer = row.get("source_agency")
        agency = row.get("recipient_agency")
        if agency is None or event_type not in (*_ALERT_TYPES, _STATUS_CHANGE):
            other.append(row)
            continue
        trail = by_agency.setdefault(agency, AgencyTrail(agency, row.get("province")))
        (trail.alert if event_type in _ALERT_TYPES else trail.status_changes).append(row)
    agencies = sorted(by_agency.values(), key=lambda t: (t.province or "", t.agency))
    return AlertTrail(alert_id, issuer, agencies, other)


def trail_json(trail: AlertTrail) -> dict[str, Any]:
    """The trail as JSON-ready data (times in ISO 8601)."""
    return {
        "alert_id": trail.alert_id,
        "issuer": trail.issuer,
        "agencies": [
            {
                "agency": a.agency,
                "province": a.province,
                "withdrawal_reached": a.withdrawal_reached,
                "alert": [_delivery(r) for r in a.alert],
                "status_changes": [_delivery(r) for r in a.status_changes],
            }
            for a in trail.agencies
        ],
        "other": [_delivery(r) for r in trail.other],
    }


def _delivery(record: Mapping[str, Any]) -> dict[str, Any]:
    keep = (
        "verified",
        "unverified_reason",
        "message_id",
        "event_type",
        "province",
        "recipient_agency",
        "outcome",
        "reason",
        "sink",
        "destination",
        "profile",
        "profile_version",
        "truncated_fields",
        "dropped_fields",
        "value_sha256",
        "local_sha256",
        "delivered_at",
        "recorded_at",
        "latency_ms",
    )
    return {k: _plain(record.get(k)) for k in keep}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_time(value)
    return value
