"""Who must receive each acknowledged event, decided by the design's rules, not by the roles.

The rules are design.md's (Topics, Need to know), written here from the agreement and the
events alone, not with the bridge's routing code (``bridge.recipients``) that the drill
and the end-to-end tests judge: a directed copy goes to the local system of
the province whose agency's inbox carries it; an alert goes to every province with an
agency among its recipients (every partner of the issuer under SHARE_ALL_PARTNERS, else
``share_with``); a status change (a withdrawal) goes to exactly the provinces that hold
the alert, i.e. that were due some revision of it. What a province holds is the drill's
own record (the ledger's expectations), never a bridge's held-alerts store.

One delivery per province: a need-to-know alert, and its status change, travel as one
directed copy per recipient agency, and a province whose several agencies are recipients
holds several copies of one revision; its local system gets exactly one of them (the
bridge delivers the first it reads). So what is due is a ``Due``: a province and the
message ids of which exactly one must be in its local system. A revision that narrows
``share_with`` carries WITHDRAWN copies for the agencies it drops
(``producers.routing.narrowing_withdrawals``): one of them is due at a province that
held the alert and keeps no recipient; at a province that keeps one the alert stays.

``Rulebook.due`` is the one statement of that expectation: the drill's duty desk writes
it to the ledger, and the four-bridge end-to-end test checks its local systems against it.

Each copy also gets a business key (alert and revision, hit, request and target…): two
different message ids for one business key in one local system would be the same event
delivered twice under another id (a publisher that re-sent with a fresh id), which a
check on message ids alone could not see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from producers.publisher import Receipt
from producers.routing import fan_out_message_id
from schemas import Agreement, ExchangeEvent, inbox_owner

ALERT_TYPES = frozenset({"PersonAlert", "VehicleAlert"})
STATUS_CHANGE = "AlertStatusChange"
SHARE_ALL = "SHARE_ALL_PARTNERS"


@dataclass(frozen=True, slots=True)
class Due:
    """One delivery a province's local system must get: exactly one of ``message_ids``."""

    province: str
    message_ids: frozenset[str]
    #: The agencies of the province it is addressed to (none named for a status change,
    #: which goes to the province's system as a whole).
    agencies: tuple[str, ...]

    @property
    def key(self) -> str:
        """A name for this delivery, shared by its candidate copies (the smallest id)."""
        return min(self.message_ids)


def narrowed_agency(event: ExchangeEvent, receipt: Receipt) -> str | None:
    """The agency a copy of an alert revision withdraws the alert from (a narrowing
    withdrawal, sent with the revision), or None for the revision's own copies."""
    agency = inbox_owner(receipt.topic)
    if event.event_type not in ALERT_TYPES or agency is None:
        return None
    # The withdrawal's id is derived from the revision's (``narrowing_withdrawals``), and
    # its one copy's from the withdrawal's, as every directed copy's.
    withdrawal = fan_out_message_id(event.envelope.message_id, f"withdraw:{agency}")
    return agency if receipt.message_id == fan_out_message_id(withdrawal, agency) else None


def copy_type(event: ExchangeEvent, receipt: Receipt) -> str:
    """The event type of one copy (a narrowing withdrawal is a status change)."""
    return STATUS_CHANGE if narrowed_agency(event, receipt) else event.event_type


def business_key(event: ExchangeEvent, receipt: Receipt) -> str:
    """What makes this copy one event of the traffic, whatever its message id."""
    record = event.record
    kind = event.envelope.event_type
    if narrowed_agency(event, receipt) is not None:
        return (
            f"{STATUS_CHANGE}:{record['alert_id']}:WITHDRAWN#{record['revision']}@{receipt.topic}"
        )
    if kind in ALERT_TYPES:
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
    """What is due per acknowledged event; remembers which province holds which alert."""

    def __init__(self, agreement: Agreement, holders: Mapping[str, set[str]] | None = None):
        self._agreement = agreement
        self._provinces = {
            key: tuple(a.id for a in agreement.agencies_of(key)) for key in agreement.provinces
        }
        #: alert id -> provinces due some revision of it (restored from the ledger).
        self._holders: dict[str, set[str]] = {k: set(v) for k, v in (holders or {}).items()}

    def due(self, event: ExchangeEvent, receipts: Iterable[Receipt]) -> list[Due]:
        """The deliveries one acknowledged event (all its copies) makes due."""
        kind = event.envelope.event_type
        record: Mapping[str, Any] = event.record
        alert_id = record.get("alert_id") if isinstance(record.get("alert_id"), str) else None
        held = self._holders.get(alert_id, set()) if alert_id is not None else set()
        dues: list[Due] = []
        #: Directed copies of one alert revision or status change, by province (one due),
        #: and the narrowing withdrawals of a revision, by province.
        grouped: dict[str, set[str]] = {}
        withdrawn: dict[str, set[str]] = {}
        for receipt in receipts:
            target = inbox_owner(receipt.topic)
            if target is None:  # a broadcast: every province
                for province in self._provinces:
                    agencies = self._broadcast_to(province, kind, record, held)
                    if agencies is not None:
                        dues.append(Due(province, frozenset({receipt.message_id}), agencies))
                continue
            if target == event.envelope.source:
                continue  # the sender's (issuer's) own record: no local system's
            province = self._agreement.agency(target).province
            if narrowed_agency(event, receipt) is not None:
                withdrawn.setdefault(province, set()).add(receipt.message_id)
            elif kind in ALERT_TYPES or kind == STATUS_CHANGE:
                grouped.setdefault(province, set()).add(receipt.message_id)
            else:  # a hit, confirmation, request or response: its own delivery
                dues.append(Due(province, frozenset({receipt.message_id}), (target,)))
        for province, ids in grouped.items():
            if kind in ALERT_TYPES:
                agencies = self._recipients(record, province)
                if agencies:
                    dues.append(Due(province, frozenset(ids), agencies))
            elif province in held:
                dues.append(Due(province, frozenset(ids), ()))
        for province, ids in withdrawn.items():
            if province in held and not self._recipients(record, province):
                dues.append(Due(province, frozenset(ids), ()))
                held.discard(province)
        if kind in ALERT_TYPES and alert_id is not None:  # ``held`` lost the withdrawn ones
            holders = self._holders.setdefault(alert_id, held)
            holders.update(d.province for d in dues if d.agencies)
        return dues

    def _recipients(self, record: Mapping[str, Any], province: str) -> tuple[str, ...]:
        """The province's agencies an alert is for: the issuer's partners, all of them
        under SHARE_ALL_PARTNERS, else those in ``share_with`` (design.md, Need to know)."""
        issuer, shared = record.get("issuing_agency"), set(record.get("share_with") or ())
        everyone = record.get("handling") == SHARE_ALL
        return tuple(
            a for a in self._provinces[province] if a != issuer and (everyone or a in shared)
        )

    def _broadcast_to(
        self, province: str, kind: str, record: Mapping[str, Any], held: set[str]
    ) -> tuple[str, ...] | None:
        """The agencies a broadcast copy is for in ``province`` (() for a status change: the
        system as a whole), or None when it is not for the province at all."""
        if kind in ALERT_TYPES:
            return self._recipients(record, province) or None
        if kind == STATUS_CHANGE and province in held:
            return ()
        return None
