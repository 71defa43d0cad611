"""bench.run's hold search per worker count: which rates each count tries, what it reports.

The rigs are stand-ins that hold every rate up to a given one (a real rig runs a bridge on
the broker: tests/integration/test_bench_latency_workers.py); what is checked here is the
search's ladder and its result, not any speed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

import bench.run as bench_run
from bench.report import sections


class FakeRig:
    """Holds every rate up to ``HOLDS[workers]``; notes each rate tried, by worker count."""

    HOLDS: ClassVar[dict[int, float]] = {}
    TRIED: ClassVar[list[tuple[int, float]]] = []

    def __init__(self, *_args: Any, workers: int = 1, **_kwargs: Any) -> None:
        self.workers = workers
        self.province = "SD"

    def run(self, rate: float, seconds: float, *, sample_lag: bool = False) -> dict[str, Any]:
        FakeRig.TRIED.append((self.workers, rate))
        return {
            "workers": self.workers,
            "offered_per_s": rate,
            "achieved_per_s": rate,
            "delivered": 1,
            "p50_ms": 1.0,
            "p95_ms": 1.0,
            "p99_ms": 1.0,
            "max_ms": 1.0,
            "held": rate <= FakeRig.HOLDS[self.workers],
        }

    def close(self) -> None:
        pass


def search(monkeypatch: pytest.MonkeyPatch, holds: dict[int, float]) -> dict[str, Any]:
    """The hold search from a best achieved rate of 2,000/s, 60 s tries."""
    monkeypatch.setattr(bench_run, "LatencyRig", FakeRig)
    FakeRig.HOLDS, FakeRig.TRIED = holds, []
    rates = bench_run._hold_rates([{"achieved_per_s": 2000.0}], 60.0)
    one = bench_run._hold_search(FakeRig(workers=1), 60.0, rates, lambda _text: None)
    return bench_run._hold_by_workers(one, None, None, [], 60.0, rates, Path("/nonexistent"), print)  # type: ignore[arg-type]


def test_two_workers_try_only_the_rates_above_what_one_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One worker holds 1,000 of 2,000/1,400/1,000; two (warmed up at 100/s first) try the
    lowest rate above, 1,400, and hold it."""
    result = search(monkeypatch, {1: 1000.0, 2: 1500.0})
    assert (FakeRig.TRIED, result["by_workers"], result["highest_rate_held_per_s"]) == (
        [(1, 2000.0), (1, 1400.0), (1, 1000.0), (2, 100.0), (2, 1400.0)],
        {"1": 1000.0, "2": 1400.0},
        1400.0,
    )
    assert result["workers"] == 2


def test_two_workers_holding_nothing_above_try_the_rate_one_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two workers slower than one (a loaded machine): their last try is one's held rate."""
    result = search(monkeypatch, {1: 2000.0, 2: 0.0})
    assert (FakeRig.TRIED, result["by_workers"], result["workers"]) == (
        [(1, 2000.0), (2, 100.0), (2, 2000.0)],
        {"1": 2000.0, "2": None},
        1,
    )


def test_when_one_worker_held_nothing_two_try_the_two_lowest_rates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One worker holds none of 2,000/1,400/1,000/700; two try 1,000 and 700 only."""
    result = search(monkeypatch, {1: 0.0, 2: 0.0})
    assert (FakeRig.TRIED[4:], result["by_workers"], result["highest_rate_held_per_s"]) == (
        [(2, 100.0), (2, 1000.0), (2, 700.0)],
        {"1": None, "2": None},
        None,
    )


def test_quick_holds_try_two_rates() -> None:
    """Holds shorter than 60 s (the quick plan's) try the best achieved rate and 0.7 of it."""
    assert bench_run._hold_rates([{"achieved_per_s": 1000.0}], 10.0) == [1000.0, 700.0]


def test_the_report_has_a_row_per_worker_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's hold table has one row per worker count; each try names its workers."""
    hold = search(monkeypatch, {1: 1000.0, 2: 1500.0})
    publish = {"events": 1, "mean_message_bytes": 1, "signed": True, "rounds": 1}
    result = {
        "publish": {**publish, "hxbus_events_per_s": 1, "raw_events_per_s": 1, "ratio": 1.0},
        "bridge": {},
        "latency": {"province": "SD", "steps": [], "hold": hold},
        "codec": {},
        "translation": {},
        "memory": {"bridge_peak_rss_mb": 1.0},
    }
    tables = {
        title.split(" ", 3)[0] + title.split(" ", 3)[1]: rows for title, _, rows in sections(result)
    }
    assert (tables["Highestrate"], [row[0] for row in tables["End-to-endlatency,"]]) == (
        [["1", "1,000"], ["2", "1,400"]],
        ["1", "1", "1", "2"],  # the warm-up is no try
    )
