"""Refusals the consumer runtime decides, audited by the bridge: the DLQ wrapper.

The runtime dead-letters poison, forged and untranslatable messages itself (and messages
the local system refused), so ``AuditedDeadLetters`` is where the bridge sees them; split
from ``bridge.inbound`` (the handler), which it writes through.
"""

from __future__ import annotations

import time
from typing import Any

import structlog

from bridge.audit_writer import outcome_of_error
from bridge.inbound import InboundBridge
from consumers import DeadLetterSink, Origin
from schemas import parse_headers
from schemas.errors import HxError, public_text

log = structlog.get_logger("hxbus.bridge")


class AuditedDeadLetters:
    """A ``DeadLetterSink`` that audits each refusal before handing it to the real DLQ.

    The consumer runtime dead-letters poison, forged and untranslatable messages itself,
    so this wrapper is where the bridge sees them: one audit record (outcome from the
    error class: SECURITY_REJECTED, REJECTED, DEAD_LETTERED) and one ``bridge_message``
    line each. The batch's refusal records are kept and sent together at ``flush``, in
    the order of their refusals, as the delivery records are (``AuditWriter.write_many``:
    one burst, the shared headers built once): a bridge reading a stream of forged
    messages pays per refusal about what it pays per delivery. ``flush`` sends them,
    waits for the DLQ and then for the audit; if either write was not acknowledged,
    every entry of the batch is reported as not acknowledged, so the runtime does not
    commit them and they come again (their DLQ entries and records written again).
    """

    def __init__(self, inner: DeadLetterSink, bridge: InboundBridge) -> None:
        self._inner = inner
        self._bridge = bridge
        self._origins: list[Origin] = []
        #: The batch's refusal audit records, sent at ``flush``.
        self._records: list[dict[str, Any]] = []

    def send(
        self,
        origin: Origin,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
        error: BaseException,
        reason: str,
    ) -> None:
        self._audit(origin, key, value or b"", headers, error, reason)
        self._origins.append(origin)
        self._inner.send(origin, key=key, value=value, headers=headers, error=error, reason=reason)

    def flush(self) -> set[Origin]:
        """Send the batch's refusal records, flush the DLQ, then the audit; then write the
        lines the batch still holds (its refusals' and expiries': the runtime calls this
        at the end of every batch, also one that handled nothing)."""
        try:
            records, self._records = self._records, []
            origins, self._origins = self._origins, []
            audit = self._bridge.audit
            try:
                # Sent before the DLQ wait: the audit's records travel while it waits.
                audit.write_many(records)
            except HxError as exc:
                log.warning("audit_write_failed", entries=len(origins), error=str(exc))
                self._inner.flush()
                return set(origins)
            not_acked = self._inner.flush()
            try:
                audit.flush()
            except HxError as exc:
                log.warning("audit_flush_failed", entries=len(origins), error=str(exc))
                return not_acked | set(origins)
            return not_acked
        finally:
            self._bridge.batch.emit_lines()

    def _audit(
        self,
        origin: Origin,
        key: bytes | None,
        value: bytes,
        headers: list[tuple[str, bytes]],
        error: BaseException,
        reason: str,
    ) -> None:
        bridge = self._bridge
        started = time.perf_counter()
        bridge.seen += 1
        fields: dict[str, Any] = {
            "province": bridge.province,
            "topic": origin.topic,
            "partition": origin.partition,
            "offset": origin.offset,
            "outcome": "rejected",
            "reason": reason,
        }
        try:
            envelope, _ = parse_headers(headers)
        except HxError:
            # No envelope: not an exchange message at all, addressed to nobody.
            bridge.batch.line(message_id=None, **fields, duration_ms=0.0)
            bridge.batch.count("unknown", "rejected")
            return
        self._records.append(
            bridge.scope.record(
                envelope,
                value=value,
                outcome=outcome_of_error(error),
                key=key,
                # Kept three years: the DLQ reason and the rule, never a value.
                reason=f"{reason}: {public_text(error)}"[:500],
                position=origin,
                recorded_at=bridge.batch.recorded_at(),
            )
        )
        bridge.batch.count(envelope.event_type, "rejected")
        bridge.batch.line(
            message_id=envelope.message_id,
            correlation_id=envelope.correlation_id,
            event_type=envelope.event_type,
            **fields,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
