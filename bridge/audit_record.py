"""One audit record (``hx.audit.AuditRecord``) of a message at a bridge, as a dict.

``AuditScope`` builds it (what the bridge shares: province, profile, sink; per message:
ids, hashes, losses, latency, position); ``audit_key`` keys it. Split from
``bridge.audit_writer``, which encodes, signs and sends what is built here.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bridge.profiles.base import LocalMessage, Profile
from bridge.sinks import DeliveryOutcome, DeliveryResult, Sink
from schemas import KEY_FIELDS, Envelope, utc_now_ms
from schemas.errors import SecurityError, SinkRejected

#: Namespace of the deterministic audit ids (a fixed, random uuid: never change it).
AUDIT_ID_NAMESPACE = uuid.UUID("4f0d7c8e-5b8a-4d55-9a3e-2f6c1b7a9e41")
_ALERT_KIND_OF_TYPE = {"PersonAlert": "PERSON", "VehicleAlert": "VEHICLE"}
_KEY_PRIORITY = ("alert_id", "request_id", "hit_id", "message_id")


class AuditOutcome(enum.StrEnum):
    """The audit record's ``outcome`` (the symbols of ``hx.audit.AuditOutcome``)."""

    DELIVERED = "DELIVERED"
    DUPLICATE = "DUPLICATE"
    REJECTED = "REJECTED"
    DEAD_LETTERED = "DEAD_LETTERED"
    SECURITY_REJECTED = "SECURITY_REJECTED"
    EXPIRED = "EXPIRED"


def outcome_of_delivery(result: DeliveryResult) -> AuditOutcome:
    """DELIVERED for a new message in the local system, DUPLICATE for one it had."""
    if result.outcome is DeliveryOutcome.DUPLICATE:
        return AuditOutcome.DUPLICATE
    return AuditOutcome.DELIVERED


def outcome_of_error(error: BaseException) -> AuditOutcome:
    """The outcome of a message that went to the DLQ because of ``error``."""
    if isinstance(error, SecurityError):
        return AuditOutcome.SECURITY_REJECTED
    if isinstance(error, SinkRejected):
        return AuditOutcome.REJECTED
    return AuditOutcome.DEAD_LETTERED


class BusPosition(Protocol):
    """Where a message was read (a ``consumers.Delivery`` or a DLQ ``Origin``)."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...


@dataclass(frozen=True, slots=True)
class AuditScope:
    """What every audit record of one bridge shares: province, profile and sink."""

    #: The province key of the agreement (``JS``).
    province: str
    profile: str
    profile_version: str
    #: The sink kind (``directory``, ``http``, ``kafka``).
    sink: str | None

    @classmethod
    def of(cls, province: str, profile: Profile, sink: Sink | None) -> AuditScope:
        return cls(province, profile.name, profile.version, sink.kind if sink else None)

    def record(
        self,
        envelope: Envelope,
        *,
        value: bytes,
        outcome: AuditOutcome,
        record: Mapping[str, Any] | None = None,
        key: bytes | None = None,
        local: LocalMessage | None = None,
        result: DeliveryResult | None = None,
        reason: str | None = None,
        position: BusPosition | None = None,
        recorded_at: datetime | None = None,
        recipient: str | None = None,
    ) -> dict[str, Any]:
        """The audit record (Avro record form) of one message at this bridge.

        ``value`` is the message as read from the bus; ``record`` its decoded record, when
        it decoded (business ids come from it, else from the Kafka ``key``); ``local`` the
        translation, when one was made; ``result`` the sink's acknowledgement.
        ``recipient``: the agency of the province a broadcast was delivered for (one record
        per receiving agency; its ``audit_id`` includes the agency); else the envelope's
        target.
        """
        ids = _business_ids(envelope.event_type, record, key)
        alert_kind = (record or {}).get("alert_kind") or _ALERT_KIND_OF_TYPE.get(
            envelope.event_type
        )
        delivered_at = result.delivered_at if result else None
        latency_ms = None
        if delivered_at is not None:
            latency_ms = int((delivered_at - envelope.created_at).total_seconds() * 1000)
        sink = result.sink if result else self.sink
        if reason is None and result is not None:
            reason = result.detail or None  # the local system's answer, e.g. "HTTP 409"
        return {
            "audit_id": self._audit_id(envelope, sink, outcome, recipient),
            "recorded_at": recorded_at or utc_now_ms(),
            "message_id": envelope.message_id,
            "event_type": envelope.event_type,
            **ids,
            "alert_kind": alert_kind if ids["alert_id"] else None,
            "correlation_id": envelope.correlation_id,
            "source_agency": envelope.source,
            "recipient_agency": recipient or envelope.target,
            "province": self.province,
            "sink": sink.upper() if sink else None,
            "destination": result.destination if result else None,
            "outcome": outcome.value,
            "reason": reason,
            "profile": self.profile,
            "profile_version": self.profile_version,
            "truncated_fields": list(local.truncated) if local else [],
            "dropped_fields": list(local.dropped) if local else [],
            "value_sha256": hashlib.sha256(value).hexdigest(),
            "local_sha256": hashlib.sha256(local.content).hexdigest() if local else None,
            "delivered_at": delivered_at,
            "latency_ms": latency_ms,
            "source_topic": position.topic if position else None,
            "source_partition": position.partition if position else None,
            "source_offset": position.offset if position else None,
        }

    def records(
        self, envelope: Envelope, recipients: Sequence[str | None], **fields: Any
    ) -> list[dict[str, Any]]:
        """``record`` for each of ``recipients`` (one per receiving agency): built and
        hashed once, then copied with each recipient's ``audit_id`` and agency."""
        first = self.record(envelope, recipient=recipients[0], **fields)
        out = [first]
        result = fields.get("result")
        sink = result.sink if result is not None else self.sink
        outcome = AuditOutcome(first["outcome"])
        for recipient in recipients[1:]:
            copy = dict(first)
            copy["audit_id"] = self._audit_id(envelope, sink, outcome, recipient)
            copy["recipient_agency"] = recipient or envelope.target
            out.append(copy)
        return out

    def _audit_id(
        self, envelope: Envelope, sink: str | None, outcome: AuditOutcome, recipient: str | None
    ) -> str:
        """uuid5 of message id, province, sink, outcome (and the recipient of a broadcast)."""
        name = f"{envelope.message_id}|{self.province}|{sink}|{outcome.value}"
        if recipient is not None and recipient != envelope.target:
            name += f"|{recipient}"
        return uuid5_text(name)


def uuid5_text(name: str, _namespace: bytes = AUDIT_ID_NAMESPACE.bytes) -> str:
    """``str(uuid.uuid5(AUDIT_ID_NAMESPACE, name))``, without building a ``uuid.UUID``
    (half the time; one or more per message audited)."""
    sha1 = hashlib.sha1(_namespace + name.encode(), usedforsecurity=False)
    digest = bytearray(sha1.digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def audit_key(record: Mapping[str, Any]) -> bytes:
    """The Kafka key of an audit record: alert id, else request id, hit id, message id."""
    for name in _KEY_PRIORITY:
        if record.get(name):
            return str(record[name]).encode()
    raise ValueError("an audit record needs at least a message_id")


def _business_ids(
    event_type: str, record: Mapping[str, Any] | None, key: bytes | None
) -> dict[str, str | None]:
    """alert_id, hit_id and request_id from the record, else the key (poison messages)."""
    ids: dict[str, str | None] = {"alert_id": None, "hit_id": None, "request_id": None}
    if record is not None:
        for name in ids:
            value = record.get(name)
            ids[name] = str(value) if value else None
        return ids
    field = KEY_FIELDS.get(event_type)
    if field and key:
        # A key that is no uuid cannot be an id of the contract: leave the field null.
        with contextlib.suppress(UnicodeDecodeError, ValueError):
            ids[field] = str(uuid.UUID(key.decode("ascii")))
    return ids
