"""Who must receive each acknowledged copy, decided by the design's rules, not by the roles.

The rules are design.md's (Topics, Need to know; ``bridge.recipients`` states them as a
pure function, reused here as the rulebook): a directed copy goes to the local system of
the province whose agency's inbox carries it; an alert goes to every province with an
agency among its recipients (every partner of the issuer under SHARE_ALL_PARTNERS, else
``share_with``); a status change (a withdrawal) goes to exactly the provinces that hold
the alert, i.e. that were due some revision of it. What a province holds is the drill's
own record (the ledger's expectations), never a bridge's held-alerts store.

Each copy also gets a business key (alert and revision, hit, request and target…): two
different message ids for one business key in one local system would be the same event
delivered twice under another id (a publisher that re-sent with a fresh id), which a
check on message ids alone could not see.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.recipients import STATUS_CHANGE, decide, sender_copy
from producers.publisher import Receipt
from schemas import Agreement, ExchangeEvent

_INBOX_PREFIX = "hx.inbox."


def business_key(event: ExchangeEvent, receipt: Receipt) -> str:
    """What makes this copy one event of the traffic, whatever its message id."""
    record = event.record
    kind = event.envelope.event_type
    if kind in ("PersonAlert", "VehicleAlert"):
        return f"{kind}:{record['alert_id']}#{record['revision']}@{receipt.topic}"
    if kind == STATUS_CHANGE:
        return f"{kind}:{record['alert_id']}:{record['status']}@{receipt.topic}"
    if kind == "AlertHit":
        return f"{kind}:{record['hit_id']}"
    if kind == "HitConfirmation":
        return f"{kind}:{record['hit_id']}:{record['confirmed_at'].isoformat()}"
    if kind == "AssistanceRequest":
        return f"{kind}:{record['request_id']}@{receipt.topic}"
    if kind == "AssistanceResponse":
        return f"{kind}:{record['response_id']}"
    return f"{kind}:{receipt.message_id}"


class Rulebook:
    """Expected provinces per copy; remembers which province holds which alert."""

    def __init__(self, agreement: Agreement, holders: Mapping[str, set[str]] | None = None):
        self._agreement = agreement
        self._provinces = {
            key: tuple(a.id for a in agreement.agencies_of(key)) for key in agreement.provinces
        }
        #: alert id -> provinces due some revision of it (restored from the ledger).
        self._holders: dict[str, set[str]] = {k: set(v) for k, v in (holders or {}).items()}

    def expected(self, event: ExchangeEvent, receipt: Receipt) -> dict[str, tuple[str, ...]]:
        """Province key -> agencies of it that must receive this copy (a status change:
        the province's system as a whole, no agencies named)."""
        kind = event.envelope.event_type
        record: Mapping[str, Any] = event.record
        alert_id = record.get("alert_id") if isinstance(record.get("alert_id"), str) else None
        target: str | None
        if receipt.topic.startswith(_INBOX_PREFIX):
            # A directed copy: only the province of the inbox's agency can read it.
            target = receipt.topic.removeprefix(_INBOX_PREFIX)
            if sender_copy(event.envelope.source, target) is not None:
                return {}  # the sender's own record of a hit or request: no local system's
            province = self._agreement.agency(target).province
            candidates = {province: self._provinces[province]}
        else:
            candidates = dict(self._provinces)
            target = event.envelope.target
        result: dict[str, tuple[str, ...]] = {}
        for province, agencies in candidates.items():
            holds = alert_id is not None and province in self._holders.get(alert_id, set())
            decision = decide(kind, record, target, agencies, holds_alert=holds)
            if decision.deliver:
                result[province] = decision.agencies
        if kind in ("PersonAlert", "VehicleAlert") and alert_id is not None:
            self._holders.setdefault(alert_id, set()).update(result)
        return result
