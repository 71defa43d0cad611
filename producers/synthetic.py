"""Synthetic exchange traffic among the agencies of the agreement, for demos, load and tests.

The stream is a small simulation, not independent random records: hits name alerts that
are live, confirmations answer hits that asked for one, responses answer requests that
were sent, revisions and withdrawals follow their alert on the same key. So every
consumer, bridge and tracker downstream sees the relations it must handle.

Proportions (weights of the next action; the shares of events are close to these):

========================  ======  =======================================================
action                    weight  why
========================  ======  =======================================================
new PersonAlert              9    alerts are rare next to what they cause: a wanted
new VehicleAlert             8    person or stolen car is seen by cameras and patrols
revision of an alert         4    many times while it is live (ANPR cameras in
withdrawal / resolution      4    particular), so hits outnumber alerts about 2:1;
AlertHit                    32    about 60 % of hits ask for a confirmation, and most
HitConfirmation             17    asked get one (17 of ~19);
AssistanceRequest            8    a request goes to 1–3 partners (1.4 on average) and
AssistanceResponse          18    each partner answers 2–4 times (acknowledged, accepted
========================  ======  or declined, in progress, done).
========================  ======  =======================================================

An action whose prerequisite is missing (a hit with no live alert, a confirmation with
no hit waiting) becomes a new alert instead; the pools are bounded, so a long run holds
its proportions and its memory.

Determinism: one ``random.Random(seed)`` draws everything, ids included, and event times
are ``start + i × spacing``; the same seed, start and spacing give the same events.

Why one module over 400 lines: ``SyntheticTraffic`` is one state machine (the live
alerts, the hits waiting, the requests open) and one event builder per action, each
reading and changing that state and drawing from the one ``Random`` in a fixed order;
split by event, every part would pass the world and the generator around, and a change
of draw order in one would silently change every seeded stream. The record pieces that
need no state live in ``producers.synthetic_records``.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from producers.routing import fan_out_message_id
from producers.synthetic_records import (
    CAUTION_BY_CATEGORY,
    LEGAL_BASIS,
    PERSON_CATEGORIES,
    VEHICLE_CATEGORIES,
    case_ref,
    contact,
    location,
    person_subject,
    seeded_uuid,
    traceparent,
    vehicle,
    weighted,
)
from schemas import Agency, Agreement, Envelope, ExchangeEvent
from schemas.audiences import is_restricted

ACTIONS: tuple[tuple[str, int], ...] = (
    ("PersonAlert", 9),
    ("VehicleAlert", 8),
    ("revision", 4),
    ("AlertStatusChange", 4),
    ("AlertHit", 32),
    ("HitConfirmation", 17),
    ("AssistanceRequest", 8),
    ("AssistanceResponse", 18),
)
#: Bounds of the simulation's memory; the oldest entries make way.
MAX_LIVE_ALERTS = 300
MAX_WAITING = 200

HIT_SOURCES = {
    "PERSON": (
        ("CHECKPOINT_CAMERA", 35), ("PATROL", 20), ("HOTEL_REGISTRATION", 20),
        ("TRANSPORT_TICKET", 20), ("OTHER", 5),
    ),
    "VEHICLE": (("CHECKPOINT_CAMERA", 70), ("PATROL", 25), ("OTHER", 5)),
}  # fmt: skip
PRIORITIES = (("IMMEDIATE", 15), ("URGENT", 35), ("ROUTINE", 50))
HIT_RESULTS = (("CONFIRMED", 50), ("NOT_VALID", 30), ("NEED_MORE_INFO", 20))
ASSISTANCE_TYPES = (
    ("LOCATE_PERSON", 20, "请协助查找嫌疑人在贵辖区的落脚点"),
    ("VERIFY_IDENTITY", 15, "请协助核实该人员身份信息"),
    ("VEHICLE_TRACE", 20, "请协助调取涉案车辆在贵辖区的卡口通行记录"),
    ("RECORDS_CHECK", 15, "请协助查询该人员的住宿及违法犯罪记录"),
    ("EVIDENCE_COLLECTION", 10, "请协助调取案发地周边监控录像"),
    ("WITNESS_INTERVIEW", 8, "请协助对证人进行询问并制作笔录"),
    ("ARREST_ASSISTANCE", 7, "嫌疑人可能藏匿于贵辖区，请协助抓捕"),
    ("JOINT_OPERATION", 5, "拟开展跨区域联合行动，请派员参加"),
)
#: What a partner says next about a request, after what it said last.
RESPONSE_NEXT: dict[str | None, tuple[tuple[str, int], ...]] = {
    None: (("ACKNOWLEDGED", 1),),
    "ACKNOWLEDGED": (("ACCEPTED", 85), ("DECLINED", 15)),
    "ACCEPTED": (("IN_PROGRESS", 70), ("INFORMATION_PROVIDED", 30)),
    "IN_PROGRESS": (("INFORMATION_PROVIDED", 50), ("COMPLETED", 50)),
    "INFORMATION_PROVIDED": (("COMPLETED", 1),),
}
FINAL_STATUSES = frozenset({"DECLINED", "COMPLETED"})
RESPONSE_MESSAGES = {
    "ACKNOWLEDGED": "已收到协查请求，正在安排",
    "ACCEPTED": "同意协助，已指派专人办理",
    "DECLINED": "经核查不属于本辖区管辖范围，无法协助",
    "IN_PROGRESS": "正在调取相关记录",
    "INFORMATION_PROVIDED": "相关记录已整理，详见附件",
    "COMPLETED": "协查工作已完成",
}


@dataclass(slots=True)
class _Alert:
    kind: str  # PERSON or VEHICLE
    event_type: str
    issuer: Agency
    record: dict[str, Any]
    message_id: str

    @property
    def broadcast(self) -> bool:
        """Shared with every partner (its id may be named to anyone)."""
        return not is_restricted(self.record.get("handling"))


@dataclass(slots=True)
class _Hit:
    record: dict[str, Any]
    issuer: Agency
    reporter: Agency
    message_id: str


@dataclass(slots=True)
class _Request:
    request_id: str
    base_message_id: str
    requester: Agency
    target: Agency
    last_status: str | None = None


@dataclass(slots=True)
class _World:
    live: deque[_Alert] = field(default_factory=deque)
    hits_waiting: deque[_Hit] = field(default_factory=deque)
    requests_open: deque[_Request] = field(default_factory=deque)


class SyntheticTraffic:
    """An endless, deterministic stream of valid exchange events; iterate it, or ``take(n)``."""

    def __init__(
        self,
        agreement: Agreement,
        *,
        seed: int,
        start: datetime,
        spacing: timedelta = timedelta(seconds=1),
    ) -> None:
        if len(agreement.agencies) < 2:
            raise ValueError("synthetic traffic needs at least two agencies")
        self._agreement = agreement
        self._rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
        self._start = start
        self._spacing = spacing
        self._world = _World()
        self._index = 0
        self.counts: Counter[str] = Counter()

    def __iter__(self) -> Iterator[ExchangeEvent]:
        while True:
            yield self.next_event()

    def take(self, count: int) -> list[ExchangeEvent]:
        return [self.next_event() for _ in range(count)]

    def next_event(self) -> ExchangeEvent:
        now = self._start + self._index * self._spacing
        now = now.replace(microsecond=now.microsecond - now.microsecond % 1000)
        self._index += 1
        event = self._act(self._choose(), now)
        self.counts[event.event_type] += 1
        return event

    # -- choosing what happens next ----------------------------------------------------

    def _choose(self) -> str:
        world = self._world
        if len(world.live) > MAX_LIVE_ALERTS:
            return "AlertStatusChange"
        action: str = self._rng.choices(
            [name for name, _ in ACTIONS], weights=[weight for _, weight in ACTIONS]
        )[0]
        if action in ("revision", "AlertStatusChange", "AlertHit") and not world.live:
            return self._new_alert_type()
        if action == "HitConfirmation" and not world.hits_waiting:
            return "AlertHit" if world.live else self._new_alert_type()
        if action == "AssistanceResponse" and not world.requests_open:
            return "AssistanceRequest"
        return action

    def _new_alert_type(self) -> str:
        return "PersonAlert" if self._rng.random() < 0.53 else "VehicleAlert"

    def _act(self, action: str, now: datetime) -> ExchangeEvent:
        if action == "PersonAlert":
            return self._person_alert(now)
        if action == "VehicleAlert":
            return self._vehicle_alert(now)
        if action == "revision":
            return self._revision(now)
        if action == "AlertStatusChange":
            return self._status_change(now)
        if action == "AlertHit":
            return self._hit(now)
        if action == "HitConfirmation":
            return self._confirmation(now)
        if action == "AssistanceRequest":
            return self._request(now)
        return self._response(now)

    # -- helpers -----------------------------------------------------------------------

    def _agency(self) -> Agency:
        return self._rng.choice(self._agreement.agencies)

    def _others(self, agency: Agency, count: int) -> list[Agency]:
        others = [a for a in self._agreement.agencies if a.id != agency.id]
        return self._rng.sample(others, min(count, len(others)))

    def _envelope(self, event_type: str, source: Agency, now: datetime, **extra: Any) -> Envelope:
        return Envelope(
            event_type=event_type,
            source=source.id,
            message_id=seeded_uuid(self._rng),
            created_at=now,
            traceparent=traceparent(self._rng),
            **extra,
        )

    def _sharing(self, issuer: Agency) -> tuple[str, list[str]]:
        roll = self._rng.random()
        if roll < 0.75:
            return "SHARE_ALL_PARTNERS", []
        handling = "NEED_TO_KNOW" if roll < 0.95 else "ORIGINATOR_CONTROL"
        partners = self._others(issuer, self._rng.randint(1, 3))
        return handling, sorted(a.id for a in partners)

    def _recipients(self, alert: _Alert) -> list[Agency]:
        share_with = alert.record["share_with"]
        return [
            a
            for a in self._agreement.agencies
            if a.id != alert.issuer.id and (not share_with or a.id in share_with)
        ]

    def _remember(self, pool: deque[Any], item: Any, bound: int) -> None:
        pool.append(item)
        while len(pool) > bound:
            pool.popleft()

    def _alert_tail(self, issuer: Agency, now: datetime, action: str) -> dict[str, Any]:
        """The fields both alert kinds end with, in contract order."""
        handling, share_with = self._sharing(issuer)
        return {
            "issuing_agency": issuer.id,
            "issued_at": now,
            "valid_until": now + timedelta(days=self._rng.choice((30, 90, 180, 365))),
            "handling": handling,
            "share_with": share_with,
            "legal_basis": LEGAL_BASIS[action],
            "contact": contact(self._rng, issuer),
            "related_alerts": [],
        }

    def _caution_flags(self, category: str) -> list[str]:
        return [f for f in CAUTION_BY_CATEGORY.get(category, ()) if self._rng.random() < 0.4]

    # -- the events ----------------------------------------------------------------------

    def _person_alert(self, now: datetime) -> ExchangeEvent:
        issuer = self._agency()
        category, _, action, reason = weighted(self._rng, PERSON_CATEGORIES)
        seen = now - timedelta(hours=self._rng.randint(1, 72))
        record = {
            "alert_id": seeded_uuid(self._rng),
            "revision": 1,
            "category": category,
            "subject": person_subject(self._rng, issuer, now.date()),
            "reason": reason,
            "case_ref": case_ref(self._rng, issuer, now.year),
            "caution_flags": self._caution_flags(category),
            "requested_action": action,
            "last_known": location(self._rng, issuer, seen),
            **self._alert_tail(issuer, now, action),
        }
        return self._new_alert("PERSON", "PersonAlert", issuer, record, now)

    def _vehicle_alert(self, now: datetime) -> ExchangeEvent:
        issuer = self._agency()
        category, _, action, reason = weighted(self._rng, VEHICLE_CATEGORIES)
        seen = now - timedelta(hours=self._rng.randint(1, 48))
        # Only broadcast alerts are linked: a need-to-know alert's id may not travel to
        # partners it was not shared with (this vehicle alert may be broadcast).
        person_alerts = [
            a.record["alert_id"] for a in self._world.live if a.kind == "PERSON" and a.broadcast
        ]
        linked = (
            [self._rng.choice(person_alerts)] if person_alerts and self._rng.random() < 0.2 else []
        )
        record = {
            "alert_id": seeded_uuid(self._rng),
            "revision": 1,
            "category": category,
            **vehicle(self._rng, issuer),
            "linked_person_alerts": linked,
            "last_seen": location(self._rng, issuer, seen),
            "reason": reason,
            "case_ref": case_ref(self._rng, issuer, now.year),
            "caution_flags": self._caution_flags(category),
            "requested_action": action,
            **self._alert_tail(issuer, now, action),
        }
        return self._new_alert("VEHICLE", "VehicleAlert", issuer, record, now)

    def _new_alert(
        self, kind: str, event_type: str, issuer: Agency, record: dict[str, Any], now: datetime
    ) -> ExchangeEvent:
        envelope = self._envelope(event_type, issuer, now)
        alert = _Alert(kind, event_type, issuer, record, envelope.message_id)
        self._remember(self._world.live, alert, MAX_LIVE_ALERTS + 1)
        return ExchangeEvent(envelope, record)

    def _revision(self, now: datetime) -> ExchangeEvent:
        alert = self._rng.choice(self._world.live)
        where = "last_known" if alert.kind == "PERSON" else "last_seen"
        seen = now - timedelta(minutes=self._rng.randint(5, 600))
        record = {
            **alert.record,
            "revision": alert.record["revision"] + 1,
            "issued_at": now,
            "valid_until": max(alert.record["valid_until"], now + timedelta(days=30)),
            where: location(self._rng, self._rng.choice(self._agreement.agencies), seen),
        }
        alert.record = record
        envelope = self._envelope(
            alert.event_type, alert.issuer, now, correlation_id=alert.message_id
        )
        return ExchangeEvent(envelope, record)

    def _status_change(self, now: datetime) -> ExchangeEvent:
        live = self._world.live
        index = 0 if len(live) > MAX_LIVE_ALERTS else self._rng.randrange(len(live))
        alert = live[index]
        del live[index]
        status = self._rng.choice(("WITHDRAWN", "RESOLVED"))
        reason = "嫌疑人已到案" if status == "RESOLVED" else "经核实信息有误，撤销布控"
        record = {
            "alert_id": alert.record["alert_id"],
            "alert_kind": alert.kind,
            "status": status,
            "reason": reason,
            "changed_at": now,
            "agency": alert.issuer.id,
        }
        envelope = self._envelope(
            "AlertStatusChange", alert.issuer, now, correlation_id=alert.message_id
        )
        return ExchangeEvent(envelope, record)

    def _hit(self, now: datetime) -> ExchangeEvent:
        alert = self._rng.choice(self._world.live)
        reporter = self._rng.choice(self._recipients(alert))
        source = weighted(self._rng, HIT_SOURCES[alert.kind])[0]
        priority = weighted(self._rng, PRIORITIES)[0]
        if "ARMED" in alert.record["caution_flags"]:
            priority = "IMMEDIATE"
        observed = now - timedelta(seconds=self._rng.randint(30, 1800))
        record = {
            "hit_id": seeded_uuid(self._rng),
            "alert_id": alert.record["alert_id"],
            "alert_kind": alert.kind,
            "reporting_agency": reporter.id,
            "observed_at": observed,
            "location": location(self._rng, reporter, observed),
            "source": source,
            "action_taken": self._rng.choice(("已布控，暂未接触", "已现场盘查", None)),
            "details": "卡口抓拍比对命中" if source == "CHECKPOINT_CAMERA" else None,
            "confirmation_requested": self._rng.random() < 0.6,
            "priority": priority,
        }
        envelope = self._envelope(
            "AlertHit", reporter, now, target=alert.issuer.id, correlation_id=alert.message_id
        )
        if record["confirmation_requested"]:
            hit = _Hit(record, alert.issuer, reporter, envelope.message_id)
            self._remember(self._world.hits_waiting, hit, MAX_WAITING)
        return ExchangeEvent(envelope, record)

    def _confirmation(self, now: datetime) -> ExchangeEvent:
        waiting = self._world.hits_waiting
        hit = waiting[self._rng.randrange(min(len(waiting), 5))]  # mostly the oldest first
        waiting.remove(hit)
        result = weighted(self._rng, HIT_RESULTS)[0]
        record = {
            "hit_id": hit.record["hit_id"],
            "alert_id": hit.record["alert_id"],
            "result": result,
            "note": {"CONFIRMED": "比对确认为同一人/车", "NOT_VALID": "经核实非布控对象"}.get(
                result, "请补充现场照片"
            ),
            "confirmed_at": now,
            "agency": hit.issuer.id,
        }
        envelope = self._envelope(
            "HitConfirmation",
            hit.issuer,
            now,
            target=hit.reporter.id,
            correlation_id=hit.message_id,
            causation_id=hit.message_id,
        )
        return ExchangeEvent(envelope, record)

    def _request(self, now: datetime) -> ExchangeEvent:
        requester = self._agency()
        count = weighted(self._rng, ((1, 70), (2, 20), (3, 10)))[0]
        targets = self._others(requester, count)
        kind, _, description = weighted(self._rng, ASSISTANCE_TYPES)
        priority = weighted(self._rng, PRIORITIES)[0]
        deadline = self._agreement.deadline_seconds(priority)
        ack_by = now + timedelta(seconds=deadline // 2)
        # A request names only the requester's broadcast alerts: its targets may not be
        # among a need-to-know alert's recipients.
        own = [
            a.record["alert_id"]
            for a in self._world.live
            if a.issuer.id == requester.id and a.broadcast
        ]
        record = {
            "request_id": seeded_uuid(self._rng),
            "case_ref": case_ref(self._rng, requester, now.year),
            "requesting_agency": requester.id,
            "target_agencies": [t.id for t in targets],
            "type": kind,
            "priority": priority,
            "ack_by": ack_by,
            "respond_by": ack_by + timedelta(hours=self._rng.choice((4, 24, 72))),
            "linked_alerts": [self._rng.choice(own)] if own and self._rng.random() < 0.5 else [],
            "description": description,
            "legal_documents": [
                f"{requester.city_zh}公协字〔{now.year}〕{self._rng.randint(1, 999)}号"
            ],
            "contact": contact(self._rng, requester),
        }
        envelope = self._envelope("AssistanceRequest", requester, now)
        for target in targets:
            self._remember(
                self._world.requests_open,
                _Request(record["request_id"], envelope.message_id, requester, target),
                MAX_WAITING,
            )
        return ExchangeEvent(envelope, record)

    def _response(self, now: datetime) -> ExchangeEvent:
        pending = self._world.requests_open
        request = pending[self._rng.randrange(min(len(pending), 5))]
        status = weighted(self._rng, RESPONSE_NEXT[request.last_status])[0]
        request.last_status = status
        if status in FINAL_STATUSES:
            pending.remove(request)
        record = {
            "response_id": seeded_uuid(self._rng),
            "request_id": request.request_id,
            "responding_agency": request.target.id,
            "status": status,
            "message": RESPONSE_MESSAGES[status],
            "results": [f"附件{self._rng.randint(1, 9)}：调查记录"]
            if status == "INFORMATION_PROVIDED"
            else [],
            "responded_at": now,
        }
        copy_id = fan_out_message_id(request.base_message_id, request.target.id)
        envelope = self._envelope(
            "AssistanceResponse",
            request.target,
            now,
            target=request.requester.id,
            correlation_id=request.base_message_id,
            causation_id=copy_id,
        )
        return ExchangeEvent(envelope, record)


def stamped_at(event: ExchangeEvent, now: datetime) -> ExchangeEvent:
    """``event`` as if created at ``now``: ``created_at`` and every time of its record move
    by as much (ids unchanged), so its deadlines and validity keep their distance from the
    issue time. For senders that stamp an event when it actually leaves (``hxbus demo``,
    ``hxbus bench``), not when a schedule wanted it to: a sender running behind would
    otherwise count its own lateness as the exchange's latency."""
    shift = now - event.envelope.created_at
    envelope = dataclasses.replace(event.envelope, created_at=now)
    return ExchangeEvent(envelope, _shifted(event.record, shift))


def _shifted(value: Any, shift: timedelta) -> Any:
    if isinstance(value, datetime):
        return value + shift
    if isinstance(value, dict):
        return {k: _shifted(v, shift) for k, v in value.items()}
    if isinstance(value, list):
        return [_shifted(v, shift) for v in value]
    return value
