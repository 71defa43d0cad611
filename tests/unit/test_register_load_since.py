"""A register load since an earlier one (issue 17): it reads only what came after, leaves
the earlier register as it was, and is a whole load again when a topic went backwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from client_fakes import FakeConsumer, record

from consumers.alert_register import (
    ALERT_TOPICS,
    AlertRegister,
    AlertState,
    LoadStats,
    RegisterLoader,
    load_register,
)
from consumers.alert_register import register as alert_register
from runtime import Settings
from runtime.kafka import Record, TopicPartition

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
SETTINGS = Settings(bootstrap="127.0.0.1:1")
SNAPSHOT = TopicPartition(SETTINGS.alert_register_topic, 0)
ALERT_PARTITIONS = [TopicPartition(topic, 0) for topic in ALERT_TOPICS]
FIRST, SECOND, OTHER = (
    "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31",
    "5f0c7a2e-1d3b-4e8f-9a6c-2b7d8e9f0a1b",
    "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
)


def state(alert_id: str) -> AlertState:
    """An ACTIVE person alert of Xuzhou, as the register role writes it."""
    fields: dict[str, Any] = {
        "alert_id": alert_id,
        "revision": 1,
        "category": "WANTED",
        "subject": {"name": "张伟", "id_number": "320311198001010019"},
        "issuing_agency": "320300000000",
        "issued_at": NOW - timedelta(hours=1),
        "valid_until": NOW + timedelta(days=30),
        "related_alerts": [],
    }
    applied = AlertRegister(lambda: NOW).apply("PersonAlert", fields)
    assert applied is not None
    return applied


def snapshot(*alert_ids: str) -> list[Record]:
    """The register topic's partition holding these alerts' states, in order."""
    return [
        record(SNAPSHOT.topic, 0, offset, alert_id.encode(), state(alert_id).to_json())
        for offset, alert_id in enumerate(alert_ids)
    ]


def broker(monkeypatch: pytest.MonkeyPatch, log: dict[TopicPartition, list[Record]]) -> None:
    """Every load's consumer reads ``log`` (the alert topics empty unless given)."""
    full = {tp: [] for tp in ALERT_PARTITIONS} | log
    monkeypatch.setattr(alert_register, "open_consumer", lambda *_a, **_k: FakeConsumer(full))


def alert_ids(register: AlertRegister) -> list[str]:
    return sorted(s.alert_id for s in register.states())


def test_a_copy_folds_on_without_changing_the_register_it_came_from() -> None:
    """AlertRegister.copy: a state merged into the copy is not in the original."""
    original = AlertRegister(lambda: NOW)
    original.merge(state(FIRST))
    twin = original.copy()
    twin.merge(state(SECOND))
    assert ([FIRST], [FIRST, SECOND]) == (alert_ids(original), alert_ids(twin))


def test_a_load_since_an_earlier_one_reads_only_what_came_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second load reads the one new snapshot entry, gives what a whole load gives,
    and leaves the first load's register as it was."""
    broker(monkeypatch, {SNAPSHOT: snapshot(FIRST)})
    first = load_register(SETTINGS, clock=lambda: NOW)
    broker(monkeypatch, {SNAPSHOT: snapshot(FIRST, SECOND)})
    again, stats = load_register(SETTINGS, clock=lambda: NOW, since=first)
    whole, _ = load_register(SETTINGS, clock=lambda: NOW)
    assert (1, [FIRST, SECOND], [FIRST], {SNAPSHOT: 2} | dict.fromkeys(ALERT_PARTITIONS, 0)) == (
        stats.snapshot,
        alert_ids(again),
        alert_ids(first[0]),
        stats.ends,
    )
    assert whole.states() == again.states()


def test_a_topic_that_went_backwards_makes_a_whole_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """A register topic ending below where the earlier load stopped (deleted and created
    again): the load starts from nothing, not from the earlier register."""
    broker(monkeypatch, {SNAPSHOT: snapshot(FIRST, SECOND)})
    first = load_register(SETTINGS, clock=lambda: NOW)
    broker(monkeypatch, {SNAPSHOT: snapshot(OTHER)})
    again, stats = load_register(SETTINGS, clock=lambda: NOW, since=first)
    assert (1, [OTHER]) == (stats.snapshot, alert_ids(again))


def test_the_loader_hands_each_load_the_one_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """RegisterLoader: the first load has nothing before it, the second gets the first."""
    given: list[object] = []
    loads = iter([(AlertRegister(), LoadStats()), (AlertRegister(), LoadStats())])

    def load(*_a: object, since: object = None, **_k: object) -> tuple[AlertRegister, LoadStats]:
        given.append(since)
        return next(loads)

    monkeypatch.setattr(alert_register, "load_register", load)
    loader = RegisterLoader(SETTINGS)
    first = loader()
    loader()
    assert [None, first] == [g if g is None else g[0] for g in given]  # type: ignore[index]
