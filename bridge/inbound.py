"""The inbound bridge of one province: exchange events in, local messages out, audited.

``InboundBridge`` is the consumer runtime's handler. For each checked message it decides
whether the province receives it (``bridge.recipients``), translates it with the
province's profile, hands it to the sink, records the alerts the province now holds
(``HeldAlerts``), and writes one audit record per receiving agency (an alert: each
agency of the province it is shared with; a status change: each agency that received the
alert; a directed event: its target). What is not for this province is counted
(``hx_bridge_deliveries_total{outcome="filtered"}``) and logged, never delivered.

Every message gets exactly one canonical log line, ``bridge_message``, with message_id,
correlation_id, event type, topic, partition, offset, outcome, reason and duration: ids
only, never a name or an identity number (the records are not logged at all). The lines
of a batch are written together when the batch is flushed (``bridge.batch_output``).

Refusals are audited where they happen:
- an alert the runtime found expired: ``on_expired`` (outcome EXPIRED);
- a message the runtime dead-letters (undecodable, forged or unsigned, untranslatable,
  refused by the local system): ``bridge.refusals.AuditedDeadLetters`` wraps the DLQ and
  writes the audit record beside the DLQ entry (SECURITY_REJECTED, REJECTED or
  DEAD_LETTERED).

Durability, once per batch (``flush``, which the runtime calls before it commits): the
sink first (files synced and named, or the POSTs acknowledged), then the held-alert rows
(one transaction), then the delivery audit records (encoded and sent in one burst).
Those are only sent once the sink is durable: the audit never says "delivered" of a
batch whose sink flush failed (that batch's records are dropped with it, and written
when it comes again). Refusals are sent as they happen and
the DLQ wrapper's ``flush`` flushes the audit for them. If any step fails, the batch is not
committed and comes again; the sink's idempotency on the message id and the audit's
deterministic ``audit_id`` absorb that.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

import structlog

from bridge.audit_writer import AuditOutcome, AuditScope, outcome_of_delivery
from bridge.batch_output import BatchOutput
from bridge.held_alerts import HeldAlerts
from bridge.profiles.base import LocalMessage, Profile
from bridge.recipients import (
    ALERT_TYPES,
    STATUS_CHANGE,
    Decision,
    decide,
    decide_copy,
    is_copy,
    sender_copy,
)
from bridge.sinks import DeliveryResult, Sink
from consumers import Delivery
from runtime.metrics import SINK_SECONDS
from schemas import Agreement
from schemas.audiences import NARROWED_REASON

log = structlog.get_logger("hxbus.bridge")

_ALERT_KIND = {"PersonAlert": "PERSON", "VehicleAlert": "VEHICLE"}
#: Audit reasons of a need-to-know copy not delivered again (fixed texts: no record data).
_HAS_REVISION = "the local system has this revision or a later one from another agency's copy"
_HAS_STATUS = "the local system has this alert's status change from another agency's copy"
_STILL_SHARED = (
    "withdrawn for this agency; the local system keeps the alert for the agencies of the "
    "province that still share it"
)


class AuditLog(Protocol):
    """What the bridge needs of the audit trail (``AuditWriter``, or a list in a test)."""

    def write(self, record: dict[str, Any]) -> None: ...

    def write_many(self, records: Sequence[dict[str, Any]]) -> None: ...

    def flush(self) -> None: ...


class InboundBridge:
    """The handler of one province's bridge (one per consumer thread)."""

    def __init__(
        self,
        province: str,
        agreement: Agreement,
        profile: Profile,
        sink: Sink,
        audit: AuditLog,
        held: HeldAlerts,
    ) -> None:
        self.province = agreement.province_key(province)
        self.agencies = frozenset(a.id for a in agreement.agencies_of(self.province))
        self.profile = profile
        self.sink = sink
        self.audit = audit
        self.held = held
        #: The batch's delivery audit records (sent once the sink is durable: ``flush``),
        #: its log lines, its clock and the metric children (``bridge.batch_output``).
        self.batch = BatchOutput(self.province, sink.kind)
        self.scope = AuditScope.of(self.province, profile, sink)
        self._sink_seconds = 0.0
        self._sink_batch_seconds = SINK_SECONDS.labels(self.province, sink.kind)
        #: Messages this bridge has seen (handled, expired, dead-lettered), for idle checks.
        self.seen = 0

    # -- the Handler protocol --------------------------------------------------------------

    def handle(self, message: Delivery) -> None:
        """Deliver ``message`` if it is for this province; count and log it if not."""
        started = time.perf_counter()
        self.seen += 1
        if is_copy(message.event_type, message.envelope.target):
            # Read and written under the lock: another worker may hold another copy.
            self.held.begin()
            self._handle_copy(message, started)
            return
        decision = self._decide(message)
        if not decision.deliver:
            self._filtered(message, decision, started)
            return
        local, result = self._to_sink(message)
        recipients: tuple[str | None, ...] = decision.agencies
        if message.event_type in ALERT_TYPES:
            record = message.record
            self.held.add(
                str(record["alert_id"]),
                _ALERT_KIND[message.event_type],
                int(record.get("revision") or 1),
                message.message_id,
                decision.agencies,
            )
        elif message.event_type == STATUS_CHANGE:
            # The withdrawal reaches each agency that received the alert: one record each.
            recipients = self.held.recipients(str(message.record.get("alert_id")))
        self._delivered_to(message, recipients, local, result, decision, started)

    def _to_sink(self, message: Delivery) -> tuple[LocalMessage, DeliveryResult]:
        """Translate ``message`` and hand it to the sink (TranslationError: to the DLQ)."""
        translating = time.perf_counter()
        local = self.profile.to_local(message.event)
        delivering = time.perf_counter()
        self.batch.translate_seconds.observe(delivering - translating)
        result = self.sink.deliver(local, message.envelope, key=message.key)
        self._sink_seconds += time.perf_counter() - delivering
        return local, result

    def _delivered_to(
        self,
        message: Delivery,
        recipients: tuple[str | None, ...],
        local: LocalMessage,
        result: DeliveryResult,
        decision: Decision,
        started: float,
    ) -> None:
        """One audit record per receiving agency (sent at ``flush``), count, latency, log."""
        outcome = outcome_of_delivery(result)
        for audit_record in self.scope.records(
            message.envelope,
            recipients or (None,),
            value=message.value,
            outcome=outcome,
            record=message.record,
            key=message.key,
            local=local,
            result=result,
            position=message,
            recorded_at=self.batch.recorded_at(),
        ):
            self.batch.record(audit_record)
        self.batch.count(message.event_type, "delivered")
        latency = (result.delivered_at - message.envelope.created_at).total_seconds()
        if latency >= 0:
            self.batch.end_to_end_seconds.observe(latency)
        self._line(message, outcome.value.lower(), decision.reason.value, started)

    def _filtered(self, message: Delivery, decision: Decision, started: float) -> None:
        self.batch.count(message.event_type, "filtered")
        self._line(message, "filtered", decision.reason.value, started)

    # -- need-to-know copies -----------------------------------------------------------------

    def _handle_copy(self, message: Delivery, started: float) -> None:
        """A need-to-know alert's or status change's copy for one agency (``decide_copy``).

        The province's local system gets each revision, and each status change, once
        although several of its agencies got copies: the first copy is delivered, the
        others are audited for their agency (DUPLICATE, the local system has it) and not
        delivered again. A narrowing withdrawal (``NARROWED_REASON``) for one agency
        withdraws the alert from the local system only once no agency of the province
        still shares it; until then it is audited for the dropped agency.
        """
        record, target = message.record, str(message.envelope.target)
        alert_id = str(record.get("alert_id"))
        held_by = self.held.recipients(alert_id) if message.event_type == STATUS_CHANGE else ()
        decision = decide_copy(message.event_type, record, target, self.agencies, held_by=held_by)
        if not decision.deliver:
            self._filtered(message, decision, started)
            return
        if message.event_type in ALERT_TYPES:
            revision = int(record.get("revision") or 1)
            held = self.held.revision(alert_id)
            if held is not None and revision <= held:
                if not self.held.ended(alert_id):
                    self.held.add_recipient(alert_id, target)
                self._audited_only(message, target, _HAS_REVISION, decision, started)
                return
            local, result = self._to_sink(message)
            kind = _ALERT_KIND[message.event_type]
            self.held.add(alert_id, kind, revision, message.message_id, (target,))
            self.held.add_recipient(alert_id, target)
            self.held.reopen(alert_id)
        else:
            narrowing = (
                record.get("status") == "WITHDRAWN" and record.get("reason") == NARROWED_REASON
            )
            if narrowing and self.held.release(alert_id, target):
                self._audited_only(message, target, _STILL_SHARED, decision, started)
                return
            if not narrowing and self.held.ended(alert_id):
                self._audited_only(message, target, _HAS_STATUS, decision, started)
                return
            local, result = self._to_sink(message)
            self.held.end(alert_id, message.message_id)
        self._delivered_to(message, (target,), local, result, decision, started)

    def _audited_only(
        self, message: Delivery, target: str, reason: str, decision: Decision, started: float
    ) -> None:
        """A copy the local system needs no second time: audited for its agency, no sink."""
        self.batch.record(
            self.scope.record(
                message.envelope,
                value=message.value,
                outcome=AuditOutcome.DUPLICATE,
                record=message.record,
                key=message.key,
                reason=reason,
                position=message,
                recipient=target,
                recorded_at=self.batch.recorded_at(),
            )
        )
        # Nothing new reached the local system: counted with what was not delivered, so
        # that "delivered" keeps matching the files in a directory sink.
        self.batch.count(message.event_type, "filtered")
        self._line(message, "duplicate", decision.reason.value, started)

    def flush(self) -> None:
        """Sink durable, then the held-alert rows (one transaction), then the delivery
        audit records (one burst, one flush); then the batch's lines."""
        flushing = time.perf_counter()
        delivered = self.batch.take_records()
        try:
            try:
                self.sink.flush()
            except BaseException:
                self.held.rollback()
                raise
            self._sink_seconds += time.perf_counter() - flushing
            self._sink_batch_seconds.observe(self._sink_seconds)
            self._sink_seconds = 0.0
            self.held.commit()
            self.audit.write_many(delivered)
            self.audit.flush()
        finally:
            self.batch.emit_lines()

    # -- refusals the runtime decides ------------------------------------------------------

    def on_expired(self, message: Delivery) -> None:
        """An alert past its valid_until: never delivered as live; audited, counted."""
        started = time.perf_counter()
        self.seen += 1
        self.audit.write(
            self.scope.record(
                message.envelope,
                value=message.value,
                outcome=AuditOutcome.EXPIRED,
                record=message.record,
                key=message.key,
                reason="valid_until has passed",
                position=message,
                recorded_at=self.batch.recorded_at(),
            )
        )
        self.batch.count(message.event_type, "filtered")
        self._line(message, "expired", "valid_until_passed", started)

    # -- helpers ---------------------------------------------------------------------------

    def _decide(self, message: Delivery) -> Decision:
        own_record = sender_copy(message.source, message.envelope.target)
        if own_record is not None:
            return own_record
        holds = False
        if message.event_type == STATUS_CHANGE:
            holds = self.held.holds(str(message.record.get("alert_id")))
        return decide(
            message.event_type,
            message.record,
            message.envelope.target,
            self.agencies,
            holds_alert=holds,
        )

    def _line(self, message: Delivery, outcome: str, reason: str, started: float) -> None:
        self.batch.line(
            province=self.province,
            message_id=message.message_id,
            correlation_id=message.envelope.correlation_id,
            event_type=message.event_type,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            outcome=outcome,
            reason=reason,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
