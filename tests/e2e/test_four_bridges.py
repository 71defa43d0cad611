"""2,000 mixed events through all four province bridges, on the real broker.

Seeded synthetic traffic (alerts with every handling, revisions, withdrawals, hits,
confirmations, fanned-out requests, responses) plus one expired alert is published
through the Publisher; then the four bridges run as ``hxbus bridge run`` subprocesses,
side by side, until idle. Who should hold what is computed from the events alone
(targets, handling and share_with, the agreement's provinces) by the drill's rulebook,
not with the bridge's routing code; each root must hold exactly those of this test's
messages, and each delivered once.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from e2e_bridge_support import (
    delivered_ids,
    finish,
    inbox_ids,
    prepare_groups,
    publish_all,
    start_bridge,
)

from hxbus.drill import Rulebook
from producers import PublishOutcome, SyntheticTraffic
from runtime import Settings
from schemas import DEFAULT_AGREEMENT_PATH, Agreement, ExchangeEvent, load_agreement, new_message_id

pytestmark = pytest.mark.broker

EVENTS = 2_000
SEED = 20261127
#: Every province of the agreement (its spec: schemas/province.py).
PROVINCES = tuple(load_agreement(DEFAULT_AGREEMENT_PATH).provinces)


def expired_alert(template: ExchangeEvent) -> ExchangeEvent:
    """A copy of a PersonAlert that was valid for a day and expired an hour ago."""
    now = datetime.now(UTC).replace(microsecond=0)
    record = {
        **template.record,
        "alert_id": new_message_id(),
        "revision": 1,
        "issued_at": now - timedelta(days=1),
        "valid_until": now - timedelta(hours=1),
        "handling": "SHARE_ALL_PARTNERS",
        "share_with": [],
    }
    return ExchangeEvent(template.envelope.evolve(message_id=new_message_id()), record)


def expected_holdings(
    outcomes: list[PublishOutcome], agreement: Agreement, expired_ids: set[str]
) -> dict[str, list[frozenset[str]]]:
    """Per province, one set of message ids per event it must receive, of which exactly
    one must be in its root (``hxbus.drill.Rulebook.due``, the drill's expectation too):
    the event's own id for a broadcast, and for a need-to-know alert (or its status
    change) the ids of the copies addressed to the province's agencies, of which the
    bridge delivers the first it reads. An expired alert is due nowhere."""
    rulebook = Rulebook(agreement)
    expected: dict[str, list[frozenset[str]]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.event.envelope.message_id in expired_ids:
            continue
        for due in rulebook.due(outcome.event, outcome.receipts):
            expected[due.province].append(due.message_ids)
    return expected


def test_four_bridges_deliver_each_event_to_exactly_its_provinces_once(
    settings: Settings,
    agreement: Agreement,
    unique_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    """Each local root holds exactly this test's events addressed to it, each once."""
    groups = {p: unique_name(f"g-{p.lower()}") for p in PROVINCES}
    prepare_groups(settings, agreement, groups)

    traffic = SyntheticTraffic(
        agreement, seed=SEED, start=datetime.now(UTC), spacing=timedelta(milliseconds=1)
    )
    events = traffic.take(EVENTS - 1)
    template = next(e for e in events if e.event_type == "PersonAlert")
    stale = expired_alert(template)
    events.append(stale)
    outcomes = publish_all(settings, agreement, events)

    roots = {p: tmp_path / p.lower() for p in PROVINCES}
    bridges = {
        p: start_bridge(settings, p, roots[p], groups[p], "--until-idle", "4") for p in PROVINCES
    }
    logs = {p: finish(process, timeout=120) for p, process in bridges.items()}

    ours = {r.message_id for o in outcomes for r in o.receipts}
    expected = expected_holdings(outcomes, agreement, {stale.envelope.message_id})
    actual = {p: inbox_ids(roots[p]) & ours for p in PROVINCES}
    for province in PROVINCES:
        wanted = expected[province]
        assert [1] * len(wanted) == [len(ids & actual[province]) for ids in wanted], province
        assert set().union(*wanted) >= actual[province], province
        deliveries = Counter(i for i in delivered_ids(logs[province]) if i in ours)
        assert {} == {i: n for i, n in deliveries.items() if n != 1}, province
        assert actual[province] == set(deliveries), province

    # A withdrawal (or resolution) reaches every province that received its alert.
    holders_of_alert: dict[str, set[str]] = defaultdict(set)
    change_receivers: dict[str, set[str]] = {}
    for outcome in outcomes:
        event = outcome.event
        message_id = event.envelope.message_id
        ids = {message_id, *(r.message_id for r in outcome.receipts)}
        got = {p for p in PROVINCES if ids & actual[p]}
        if event.event_type in ("PersonAlert", "VehicleAlert"):
            holders_of_alert[event.record["alert_id"]] |= got
        elif event.event_type == "AlertStatusChange":
            change_receivers[message_id] = got
            assert holders_of_alert[event.record["alert_id"]] == got, message_id
    assert sum(1 for got in change_receivers.values() if got) > 20  # the check had teeth

    # The expired alert reached nobody; restricted alerts reached only their provinces.
    assert all(stale.envelope.message_id not in actual[p] for p in PROVINCES)
    # No bridge logged an identity number or a subject's name.
    secrets = _personal_values(events)
    for province in PROVINCES:
        text = json.dumps(logs[province], ensure_ascii=False)
        assert [] == [s for s in secrets if s in text], province


def _personal_values(events: list[ExchangeEvent]) -> list[str]:
    values: set[str] = set()
    for event in events:
        subject: dict[str, Any] | None = event.record.get("subject")
        if subject:
            values.update(v for v in (subject.get("id_number"), subject.get("name")) if v)
    return sorted(values)
