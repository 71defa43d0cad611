"""After the run: what arrived where, against the ledger, exactly once; and per fault.

The checker reads only the drill's ledger and what the local systems hold — the files in
each province's inbox (a file's name is its message id, its mtime when it was written),
the HTTP receiver's log — plus, to compare, the audit trail on ``hx.audit`` and the copies
on the bus. Never a role's own store or metrics.

- **lost**: a delivery a province must receive (ledger) of which no copy is in its local
  system (a need-to-know alert's copies for several agencies of one province are one
  delivery: exactly one of them must be there);
- **duplicated**: a message id stored twice by the receiver, two copies of one delivery,
  or two message ids of one business event (alert revision, hit, request copy…) in one local system;
- **unexpected**: a message in a local system the ledger does not expect there (a second
  notice of the tracker for a copy expected there is expected: it is the tracker's duty);
- **withdrawals**: status changes found at exactly the provinces holding the alert;
- **audit**: every message in a local system has a DELIVERED or DUPLICATE audit record of
  its province, and every such record a message in the local system.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.audit_reader import AuditMessage, audit_problem
from bridge.audit_writer import AUDIT_RECORD_TYPE, audit_codec
from consumers.tracker import second_notice_id
from hxbus.drill.faults import FaultRecord
from hxbus.drill.found import Found, found_by_receiver, found_in_inbox
from hxbus.drill.ledger import AckedCopy, Ledger
from hxbus.drill.region import HTTP_PROVINCE
from producers.routing import fan_out_message_id
from runtime import Settings, open_consumer
from runtime.kafka import Record
from runtime.signers import bridge_verifier
from runtime.topic_end import beginnings, read_to_end
from schemas import AUDIT_TOPIC, BROADCAST_TOPICS, Agreement, inbox_owner, inbox_topic
from schemas.errors import DecodeError

_RECEIVED = frozenset({"DELIVERED", "DUPLICATE"})


@dataclass
class Window:
    """One row of the report: a fault (or the run before the first one)."""

    name: str
    description: str
    started: float
    ended: float
    healed_s: float | None = None
    #: When the drill had undone the fault (wall clock); 0.0 for the baseline.
    healed_at: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)
    expected: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    resumed_s: float | None = None
    highest_lag_s: float = 0.0
    #: Sequence numbers of the events acknowledged in the window.
    events: set[int] = field(default_factory=set, repr=False)

    @property
    def acknowledged(self) -> int:
        return len(self.events)


@dataclass
class Result:
    windows: list[Window]
    events_acknowledged: int = 0
    events_intended: int = 0
    #: Events the Publisher refused for good (never sent): the drill's traffic is valid,
    #: so each is a failure (the desk did not know what it needed to route it).
    events_refused: int = 0
    copies: int = 0
    expected: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0
    second_notices: int = 0
    withdrawals_expected: int = 0
    withdrawals_delivered: int = 0
    withdrawals_elsewhere: int = 0
    resent_after_restart: int = 0
    on_bus_more_than_once: int = 0
    audit_records: int = 0
    audit_missing: int = 0
    audit_without_delivery: int = 0
    audit_unverified: int = 0
    audit_refusals: Counter[str] = field(default_factory=Counter)
    per_province: dict[str, dict[str, int]] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return (
            self.lost == 0
            and self.duplicated == 0
            and self.unexpected == 0
            and self.audit_missing == 0
            and self.audit_without_delivery == 0
            and self.audit_unverified == 0
            and self.events_refused == 0
            and self.events_acknowledged == self.events_intended
        )

    def note(self, kind: str, text: str) -> None:
        examples = self.examples.setdefault(kind, [])
        if len(examples) < 5:
            examples.append(text)


def _windows(faults: list[FaultRecord], run_start: float, run_end: float) -> list[Window]:
    starts = [f.started for f in faults]
    windows = [
        Window("baseline", "traffic before the first fault", run_start, (starts or [run_end])[0])
    ]
    for i, fault in enumerate(faults):
        end = starts[i + 1] if i + 1 < len(faults) else run_end
        healed = round(fault.healed - fault.started, 1) if fault.healed else None
        windows.append(
            Window(
                fault.name,
                fault.description,
                fault.started,
                end,
                healed,
                healed_at=fault.healed or fault.started,
                detail=fault.detail,
            )
        )
    return windows


def _window_of(windows: list[Window], at: float) -> Window:
    for window in reversed(windows):
        if at >= window.started:
            return window
    return windows[0]


def check(
    ledger: Ledger,
    agreement: Agreement,
    inboxes: dict[str, Path],
    receiver_log: Path,
    settings: Settings,
    faults: list[FaultRecord],
    run_start: float,
    run_end: float,
) -> Result:
    """Compare the local systems with the ledger; see the module doc."""
    windows = _windows(faults, run_start, run_end)
    result = Result(windows)
    result.events_intended, result.events_acknowledged = ledger.counts()
    result.resent_after_restart = ledger.resent()
    refused = ledger.refused()
    result.events_refused = len(refused)
    for seq, reason in sorted(refused.items())[:5]:
        result.note("refused", f"event {seq}: {reason}")
    found = {
        province: found_by_receiver(receiver_log)
        if province == HTTP_PROVINCE
        else found_in_inbox(inboxes[province])
        for province in agreement.provinces
    }
    copies = list(ledger.copies())
    result.copies = len(copies)
    by_id = {c.copy.message_id: c for c in copies}
    notices = _second_notices(copies)
    accounted: dict[str, set[str]] = {p: set() for p in agreement.provinces}
    business: dict[tuple[str, str], list[str]] = defaultdict(list)

    #: (delivery, province) -> the copies of which exactly one must be there (one copy,
    #: or a need-to-know alert's copies for the province's agencies: ``Rulebook.due``).
    due: dict[tuple[str, str], list[AckedCopy]] = defaultdict(list)
    for acked in copies:
        _window_of(windows, acked.acked_at).events.add(acked.seq)  # an event: counted once
        for province in acked.copy.provinces:
            due[(acked.copy.delivery, province)].append(acked)

    for (_, province), candidates in due.items():
        first = candidates[0]
        here = found[province]
        window = _window_of(windows, first.acked_at)
        window.expected += 1
        result.expected += 1
        is_withdrawal = first.copy.event_type == "AlertStatusChange"
        result.withdrawals_expected += is_withdrawal
        got = [c for c in candidates if c.copy.message_id in here.first_at]
        if not got:
            window.lost += 1
            result.lost += 1
            result.note("lost", f"{first.copy.event_type} {first.copy.message_id} at {province}")
            continue
        for acked in got:
            accounted[province].add(acked.copy.message_id)
            business[(province, acked.copy.business_key)].append(acked.copy.message_id)
        window.delivered += 1
        result.delivered += 1
        result.withdrawals_delivered += is_withdrawal
        extra = sum(here.stored[c.copy.message_id] for c in got) - 1
        if extra > 0:
            window.duplicated += extra
            result.duplicated += extra
            result.note("duplicated", f"{first.copy.message_id} stored {extra + 1}x at {province}")
        lag = max(0.0, min(here.first_at[c.copy.message_id] - c.acked_at for c in got))
        window.highest_lag_s = max(window.highest_lag_s, lag)

    for (province, key), ids in business.items():
        if len(ids) > 1:
            extra = len(ids) - 1
            window = _window_of(windows, by_id[ids[-1]].acked_at)
            window.duplicated += extra
            result.duplicated += extra
            result.note("duplicated", f"{key} under {len(ids)} message ids at {province}")

    for province, here in found.items():
        for message_id in here.first_at:
            if message_id in accounted[province]:
                continue
            original = notices.get(message_id)
            if original is not None and province in by_id[original].copy.provinces:
                result.second_notices += 1
                accounted[province].add(message_id)
                continue
            result.unexpected += 1
            copy_known = by_id.get(message_id)
            if copy_known is not None and copy_known.copy.event_type == "AlertStatusChange":
                result.withdrawals_elsewhere += 1
            result.note("unexpected", f"{message_id} at {province}")
        result.per_province[province] = {
            "expected": sum(1 for _, where in due if where == province),
            "found": len(here.first_at),
        }

    _resumption(windows, found)
    held = {p: set(here.first_at) for p, here in found.items()}
    _check_audit(
        result, settings, agreement, held, {c.copy.message_id: c.copy.delivery for c in copies}
    )
    result.on_bus_more_than_once = _on_bus_more_than_once(settings, agreement, set(by_id))
    return result


#: A pause between two deliveries into one local system longer than this is a stall
#: (at the drill's rates a province receives several messages a second).
STALL_S = 1.5


def _second_notices(copies: list[AckedCopy]) -> dict[str, str]:
    """Message id of each possible second notice -> the copy it repeats.

    The tracker derives a notice's id from the original copy's (``second_notice_id``);
    an AssistanceRequest notice is then routed to its one target, and routing derives the
    copy's id again from it (``fan_out_message_id``), as for any request copy.
    """
    notices: dict[str, str] = {}
    for acked in copies:
        copy = acked.copy
        notice = second_notice_id(copy.message_id)
        notices[notice] = copy.message_id
        target = inbox_owner(copy.topic)
        if copy.event_type == "AssistanceRequest" and target is not None:
            notices[fan_out_message_id(notice, target)] = copy.message_id
    return notices


def _resumption(windows: list[Window], found: dict[str, Found]) -> None:
    """Per fault: the time from its start until deliveries flowed again after the longest
    stall that began while the fault lasted (from its start until the drill had undone
    it), in the local system where that took longest (0.0: no local system stalled). A
    stall that began before the fault, or after it was undone, is not the fault's."""
    for window in windows[1:]:
        worst: tuple[float, str] | None = None
        for province, here in found.items():
            times = sorted(t for t in here.first_at.values() if t >= window.started)
            previous = window.started
            for at in times:
                if previous > max(window.healed_at, window.started) + STALL_S:
                    break
                if at - previous > STALL_S:
                    resumed = at - window.started
                    if worst is None or resumed > worst[0]:
                        worst = (resumed, province)
                previous = at
        if worst is None:
            window.resumed_s = 0.0
        else:
            window.resumed_s = round(worst[0], 1)
            window.detail["slowest_province"] = worst[1]


def read_topics(
    settings: Settings, topics: Iterable[str], timeout_s: float = 300.0
) -> Iterator[Record]:
    """Every record of ``topics`` from the beginning to their end offsets now."""
    consumer = open_consumer(settings)
    try:
        starts = beginnings(consumer, topics)
        yield from read_to_end(consumer, starts, what="read the drill's topics", stall_s=timeout_s)
    finally:
        consumer.close()


def _check_audit(
    result: Result,
    settings: Settings,
    agreement: Agreement,
    held: dict[str, set[str]],
    delivery_of: dict[str, str],
) -> None:
    """Every delivery a local system holds has a DELIVERED or DUPLICATE audit record of its
    province, and every such record a delivery there; every record verifies as written by
    the bridge of the province it names.

    Compared per delivery (``delivery_of``: message id -> delivery key, ``Ledger``): the
    bridge audits each agency's copy of a need-to-know alert, DELIVERED for the copy it
    handed the local system and DUPLICATE for its siblings, which the local system has
    under the first copy's id."""
    codec = audit_codec()
    verifier = bridge_verifier(agreement)
    received: dict[str, set[str]] = defaultdict(set)
    seen: set[str] = set()
    for message in read_topics(settings, [AUDIT_TOPIC]):
        if message.value is None:
            continue
        try:
            event_type, record = codec.decode(message.value)
        except DecodeError:
            continue
        if event_type != AUDIT_RECORD_TYPE or str(record["audit_id"]) in seen:
            continue
        seen.add(str(record["audit_id"]))
        result.audit_records += 1
        signed = AuditMessage(message.topic, message.key, message.value, list(message.headers))
        problem = audit_problem(verifier, agreement, signed, record)
        if problem is not None:
            result.audit_unverified += 1
            result.note("audit", f"record {record['audit_id']} not verified: {problem}")
        outcome = str(record["outcome"])
        if outcome in _RECEIVED:
            received[str(record["province"])].add(str(record["message_id"]))
        else:
            result.audit_refusals[outcome] += 1
    for province, held_ids in held.items():
        ids = {delivery_of.get(i, i) for i in held_ids}
        audited = {delivery_of.get(i, i) for i in received.get(province, set())}
        missing = ids - audited
        extra = audited - ids
        result.audit_missing += len(missing)
        result.audit_without_delivery += len(extra)
        for mid in sorted(missing)[:2]:
            result.note("audit", f"{mid} at {province}: in the local system, no audit record")
        for mid in sorted(extra)[:2]:
            result.note("audit", f"{mid} at {province}: audited as received, not there")


def _on_bus_more_than_once(settings: Settings, agreement: Agreement, ids: set[str]) -> int:
    """Copies written to the bus more than once (the publisher sent them again after a
    restart or a timeout): each must still be delivered once."""
    topics = [*BROADCAST_TOPICS.values(), *(inbox_topic(a.id) for a in agreement.agencies)]
    counts: Counter[str] = Counter()
    for message in read_topics(settings, topics):
        for name, value in message.headers:
            if name == "ce_id":
                message_id = value.decode()
                if message_id in ids:
                    counts[message_id] += 1
                break
    return sum(1 for n in counts.values() if n > 1)
