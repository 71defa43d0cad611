"""The console's pure parts: flows per pair, who may read what, the alert book, the
requests view, and the demo's scaled deadlines."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consumers.tracker import Answer, Expectation, TrackerStore
from hxbus.console.alert_book import AlertBook
from hxbus.console.flows import WINDOW_S, Flow, FlowCounter
from hxbus.console.layout import MAP_HEIGHT, region_layout
from hxbus.console.principal import AUDITOR, Principal
from hxbus.console.requests_view import read_requests
from hxbus.demo import scale_deadlines
from schemas import DEFAULT_AGREEMENT_PATH, Agreement, load_agreement
from schemas.errors import ConfigError

XUZHOU, JINING, LINYI, HEZE = "320300000000", "370800000000", "371300000000", "371700000000"
NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def test_flow_rates_are_per_pair_and_type_over_the_window() -> None:
    """Five messages of one pair in the window's seconds make 1/s; the current second and
    history before the window count for nothing."""
    counter = FlowCounter(clock=lambda: 1000.5)
    for second in range(1000 - WINDOW_S, 1000):
        counter.add(XUZHOU, JINING, "AlertHit", second * 1000 + 10)
    counter.add(XUZHOU, JINING, "AlertHit", 1000_100)  # this second: not complete yet
    counter.add(XUZHOU, "*", "PersonAlert", 990_000)  # before the window
    counter.add(JINING, "*", "VehicleAlert", 998_000)

    assert [
        Flow(XUZHOU, JINING, "AlertHit", 1.0),
        Flow(JINING, "*", "VehicleAlert", 1 / WINDOW_S),
    ] == counter.flows()


def test_principal_reads_shared_alerts_and_restricted_ones_only_when_named() -> None:
    """An agency reads alerts shared with all, restricted ones it issued or is named in;
    one whose handling is unknown only when it issued it; the auditor reads all."""
    linyi, auditor = Principal(LINYI), Principal(AUDITOR)

    assert linyi.may_read_alert(XUZHOU, None)
    assert linyi.may_read_alert(XUZHOU, frozenset({LINYI}))
    assert not linyi.may_read_alert(XUZHOU, frozenset({HEZE}))
    assert not linyi.may_read_alert(XUZHOU, frozenset())
    assert linyi.may_read_alert(LINYI, frozenset())
    assert auditor.may_read_alert(XUZHOU, frozenset({HEZE}))


def test_principal_reads_the_items_it_owes_or_waits_for() -> None:
    """A request is shown to its requester, its target and the auditor only."""
    assert Principal(LINYI).may_read_item(LINYI, XUZHOU)
    assert Principal(LINYI).may_read_item(XUZHOU, LINYI)
    assert not Principal(LINYI).may_read_item(XUZHOU, JINING)
    assert Principal(AUDITOR).may_read_item(XUZHOU, JINING)


def test_principal_sees_the_flows_it_is_part_of_and_every_broadcast() -> None:
    """An agency sees its own pairs and broadcasts, not two others' traffic; the auditor all."""
    linyi = Principal(LINYI)

    assert linyi.may_see_flow(LINYI, XUZHOU, "*")
    assert linyi.may_see_flow(XUZHOU, LINYI, "*")
    assert linyi.may_see_flow(XUZHOU, "*", "*")
    assert not linyi.may_see_flow(XUZHOU, JINING, "*")
    assert Principal(AUDITOR).may_see_flow(XUZHOU, JINING, "*")


def test_principal_must_be_an_agency_or_the_auditor(agreement: Agreement) -> None:
    """``--as`` names an agency of the agreement or ``auditor``; anything else is refused."""
    assert Principal(HEZE) == Principal.parse(HEZE, agreement)
    with pytest.raises(ConfigError, match="--as"):
        Principal.parse("999900000000", agreement)


def _alert(alert_id: str, issuer: str, kind: str = "PersonAlert", **more: object) -> dict:
    return {
        "alert_id": alert_id,
        "revision": 1,
        "issuing_agency": issuer,
        "category": "WANTED",
        "issued_at": NOW - timedelta(hours=1),
        "valid_until": NOW + timedelta(days=30),
        "handling": "SHARE_ALL_PARTNERS",
        **more,
    }


def _book() -> AlertBook:
    book = AlertBook()
    book.apply("PersonAlert", _alert("a-shared", XUZHOU), "hx.alerts.person/0@1")
    book.apply(
        "PersonAlert",
        _alert("a-restricted", XUZHOU, handling="NEED_TO_KNOW", share_with=[JINING]),
        "hx.alerts.person/0@2",
    )
    book.apply("VehicleAlert", _alert("a-vehicle", HEZE), "hx.alerts.vehicle/0@1")
    book.apply(
        "AlertStatusChange",
        {
            "alert_id": "a-vehicle",
            "alert_kind": "VEHICLE",
            "status": "WITHDRAWN",
            "agency": HEZE,
            "changed_at": NOW - timedelta(minutes=5),
        },
        "hx.alerts.vehicle/0@2",
    )
    return book


def test_alert_book_shows_each_principal_what_it_may_read_newest_first() -> None:
    """Linyi is not in the restricted alert's share_with; Jining and the auditor are."""
    book = _book()

    def ids(principal: str) -> list[str]:
        rows, _ = book.rows(Principal(principal), now=NOW)
        return [row["alert_id"] for row in rows]

    assert ["a-vehicle", "a-shared"] == ids(LINYI)
    assert ["a-vehicle", "a-restricted", "a-shared"] == ids(JINING)
    assert ["a-vehicle", "a-restricted", "a-shared"] == ids(AUDITOR)


def test_alert_book_filters_by_kind_agency_and_status() -> None:
    """Each filter narrows the rows and the count of matches."""
    book, auditor = _book(), Principal(AUDITOR)

    def ids(**where: str) -> list[str]:
        rows, matched = book.rows(auditor, now=NOW, **where)
        assert len(rows) == matched
        return [row["alert_id"] for row in rows]

    assert ["a-vehicle"] == ids(kind="VEHICLE")
    assert ["a-restricted", "a-shared"] == ids(agency=XUZHOU)
    assert ["a-vehicle"] == ids(status="WITHDRAWN")
    assert ["a-restricted", "a-shared"] == ids(status="ACTIVE")


def _expect(store: TrackerStore, item_id: str, requester: str, target: str, ack_in: int) -> None:
    ack_by = NOW + timedelta(seconds=ack_in)
    store.expect(
        Expectation(
            "request", item_id, target, requester, "IMMEDIATE", NOW - timedelta(minutes=1),
            ack_by, ack_by + timedelta(hours=4),
        ),
        f"m-{item_id}",
        "{}",
    )  # fmt: skip


def test_requests_view_puts_overdue_first_and_counts_answers_in_time(tmp_path: Path) -> None:
    """Overdue before open, answered last; counts per state, in time and late; a
    principal sees only its own items."""
    group = "hx.tracker.test"
    with TrackerStore.for_group(tmp_path, group) as store:
        _expect(store, "r-open", XUZHOU, JINING, ack_in=60)
        _expect(store, "r-late", XUZHOU, LINYI, ack_in=-30)
        _expect(store, "r-done", JINING, HEZE, ack_in=60)
        store.answer(Answer("request", "r-done", HEZE, True, NOW - timedelta(seconds=10)))
        store.commit()

    seen = read_requests(tmp_path, group, Principal(AUDITOR), NOW)
    linyi = read_requests(tmp_path, group, Principal(LINYI), NOW)

    assert ["r-late", "r-open", "r-done"] == [row["id"] for row in seen["rows"]]
    assert ["overdue", "open", "answered"] == [row["state"] for row in seen["rows"]]
    assert {"open": 1, "overdue": 1, "answered": 1, "answered_in_time": 1} == seen["counts"]
    assert ["r-late"] == [row["id"] for row in linyi["rows"]]


def test_requests_view_says_when_the_tracker_has_no_state(tmp_path: Path) -> None:
    """No tracker state file yet: not available, no rows."""
    assert {"available": False, "rows": [], "counts": {}} == read_requests(
        tmp_path, "hx.tracker", Principal(AUDITOR), NOW
    )


def test_demo_agreement_reads_deadline_minutes_as_seconds(tmp_path: Path) -> None:
    """The demo's copy of the agreement: 10 min -> 10 s, 60 min -> 60 s, 24 h -> 1440 s."""
    copy = tmp_path / "agreement.toml"
    shutil.copyfile(DEFAULT_AGREEMENT_PATH, copy)

    scale_deadlines(copy, 60)

    assert {"IMMEDIATE": 10, "URGENT": 60, "ROUTINE": 1440} == dict(load_agreement(copy).deadlines)


def test_every_agency_is_placed_inside_the_map(agreement: Agreement) -> None:
    """The ten agencies each get a place within the map's box."""
    places = region_layout(agreement)

    assert sorted(a.id for a in agreement.agencies) == sorted(p.agency for p in places)
    assert all(0 < p.x < 100 and 0 < p.y < MAP_HEIGHT for p in places)
