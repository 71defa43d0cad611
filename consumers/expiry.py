"""What the runtime does with an alert past its ``valid_until`` (consumers.loop, step 3).

An expired alert is not poison (it was valid when sent) but must never reach a local
system as live: it is skipped with the outcome ``expired``, logged, and committed
(``consumers.reading.expired`` judges). A role that must say so somewhere (a bridge
audits the refusal, the register records it) passes a hook. The strategy is chosen
once, when the runtime is built (``expiry_for``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from consumers.delivery import Delivery
from consumers.reading import expired
from schemas.errors import public_text


class Expiry(Protocol):
    """Whether a message is an expired alert; if so, it has been logged (and hooked)."""

    def skips(self, message: Delivery, now: datetime, log: Any) -> bool: ...


class SkipExpiredAlerts:
    """Expired alerts are skipped and logged (``alert_expired``)."""

    def skips(self, message: Delivery, now: datetime, log: Any) -> bool:
        if not expired(message, now):
            return False
        log.info(
            "alert_expired",
            message_id=message.message_id,
            correlation_id=message.envelope.correlation_id,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            event_type=message.event_type,
            valid_until=str(message.record.get("valid_until")),
        )
        self.skipped(message, log)
        return True

    def skipped(self, message: Delivery, log: Any) -> None:
        """Nothing more to do."""


class HookedExpiry(SkipExpiredAlerts):
    """Skipped and logged, then handed to ``hook``; a hook that fails never stops the
    stream (logged ``on_expired_failed``, the alert is still skipped)."""

    def __init__(self, hook: Callable[[Delivery], None]) -> None:
        self._hook = hook

    def skipped(self, message: Delivery, log: Any) -> None:
        try:
            self._hook(message)
        except Exception as exc:
            log.warning("on_expired_failed", error=public_text(exc))


def expiry_for(on_expired: Callable[[Delivery], None] | None) -> Expiry:
    """The strategy for a role with (or without) an ``on_expired`` hook."""
    return SkipExpiredAlerts() if on_expired is None else HookedExpiry(on_expired)
