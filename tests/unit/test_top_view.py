"""``hxbus top``'s arithmetic: rates between two readings, latency percentiles from
histogram buckets (as Prometheus computes them), and the frame a person reads."""

from __future__ import annotations

import math
import re
from pathlib import Path

from rich.console import Console

from hxbus.metrics_view import Scrape, View, quantile
from hxbus.role_ports import role_ports
from hxbus.top_frame import render
from schemas import DEFAULT_AGREEMENT_PATH, load_agreement

#: A fifth province, appended to the repository's agreement.
FIFTH = """
[provinces.HH]
name = "Huaihe"
name_zh = "淮河"
gb_code = "90"
plate_character = "淮"
profile = "jiangsu"
metrics_port = 9415
"""

PAGE = """\
# TYPE hx_published_total counter
hx_published_total{{agency="320300000000",event_type="PersonAlert",outcome="ok"}} {xuzhou}
hx_published_total{{agency="370800000000",event_type="AlertHit",outcome="ok"}} {jining}
hx_published_total{{agency="370800000000",event_type="AlertHit",outcome="rejected"}} 1.0
# TYPE hx_consumer_messages_total counter
hx_consumer_messages_total{{role="bridge",topic_kind="inbox",event_type="AlertHit",\
outcome="dead_lettered"}} 2.0
# TYPE hx_consumer_lag_messages gauge
hx_consumer_lag_messages{{role="bridge",topic_kind="inbox",partition="0"}} 7.0
hx_consumer_lag_messages{{role="bridge",topic_kind="inbox",partition="1"}} 5.0
# TYPE hx_requests_overdue gauge
hx_requests_overdue{{kind="request",priority="IMMEDIATE",target_agency="320300000000"}} 1.0
# TYPE hx_end_to_end_latency_seconds histogram
hx_end_to_end_latency_seconds_bucket{{province="HA",le="0.1"}} 0.0
hx_end_to_end_latency_seconds_bucket{{province="HA",le="1.0"}} 0.0
hx_end_to_end_latency_seconds_bucket{{province="HA",le="2.5"}} {slow}
hx_end_to_end_latency_seconds_bucket{{province="HA",le="+Inf"}} {slow}
hx_end_to_end_latency_seconds_count{{province="HA"}} {slow}
hx_end_to_end_latency_seconds_sum{{province="HA"}} 1.0
"""


def _scrape(at: float, xuzhou: float, jining: float, slow: float) -> Scrape:
    scrape = Scrape(at=at)
    scrape.add_text(PAGE.format(xuzhou=xuzhou, jining=jining, slow=slow))
    scrape.up.append("http://127.0.0.1:9400/metrics")
    return scrape


def test_quantile_interpolates_within_the_bucket_like_histogram_quantile() -> None:
    """60 observations in (1, 2.5]: p99 is 1 + 1.5 * 0.99 = 2.485 (promtool says the same)."""
    buckets = {0.1: 0.0, 1.0: 0.0, 2.5: 60.0, math.inf: 60.0}
    assert 2.485 == round(quantile(0.99, buckets) or 0.0, 6)
    assert 1.75 == quantile(0.5, buckets)


def test_quantile_of_nothing_is_none_and_of_the_overflow_is_the_largest_bound() -> None:
    """No observations: no percentile; a rank past the last finite bound: that bound."""
    assert quantile(0.99, {0.1: 0.0, math.inf: 0.0}) is None
    assert 0.1 == quantile(0.99, {0.1: 1.0, math.inf: 100.0})


def test_rates_are_the_counter_increase_over_the_interval() -> None:
    """Two readings 2 s apart: +10 events from Xuzhou is 5/s; totals are the latest."""
    view = View(_scrape(12.0, 20.0, 4.0, 10.0), _scrape(10.0, 10.0, 4.0, 0.0))
    rows = {row.key: (row.rate, row.total) for row in view.rows("hx_published_total", ("agency",))}
    assert {("320300000000",): (5.0, 20.0), ("370800000000",): (0.0, 5.0)} == rows
    assert (5.0, 24.0) == (
        view.total("hx_published_total", outcome="ok").rate,
        view.total("hx_published_total", outcome="ok").total,
    )


def test_a_counter_that_went_back_counts_as_no_traffic() -> None:
    """A restarted process starts its counters at 0: the rate is 0, not negative."""
    view = View(_scrape(11.0, 1.0, 4.0, 0.0), _scrape(10.0, 50.0, 4.0, 0.0))
    assert 0.0 == view.total("hx_published_total", agency="320300000000").rate


def test_the_frame_shows_throughput_latency_lag_dlq_and_overdue() -> None:
    """The headline says what flows and what is wrong, in numbers a person can read."""
    view = View(_scrape(12.0, 20.0, 4.0, 60.0), _scrape(10.0, 10.0, 4.0, 0.0))
    console = Console(width=200, record=True, color_system=None)
    console.print(render(view, {"320300000000": "Xuzhou"}))
    text = console.export_text()
    headline = text.splitlines()[0]
    assert re.search(r"published 5\.0/s \(24\)", headline), headline
    assert re.search(r"p99 2485 ms", headline), headline
    assert re.search(r"lag 12 +dlq 2 +overdue 1", headline), headline
    assert "320300000000 Xuzhou" in text


def test_top_watches_the_agreements_metrics_ports_by_default(tmp_path: Path) -> None:
    """Without --url, hxbus top reads the agreement's role ports (those
    deploy/prometheus/prometheus.yml scrapes, tests/unit/test_prometheus_targets.py),
    a fifth province's bridge included."""
    text = DEFAULT_AGREEMENT_PATH.read_text(encoding="utf-8")
    (tmp_path / "agreement.toml").write_text(text + FIFTH, encoding="utf-8")
    agreement = load_agreement(tmp_path / "agreement.toml")
    urls = [role.url() for role in role_ports(agreement)]
    ports = [9400, 9401, 9402, 9411, 9412, 9413, 9414, 9415]
    assert [f"http://127.0.0.1:{p}/metrics" for p in ports] == urls
