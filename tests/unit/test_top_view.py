"""``hxbus top``'s arithmetic: rates between two readings, latency percentiles from
histogram buckets (as Prometheus computes them), and the frame a person reads."""

from __future__ import annotations

import math
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from rich.console import Console

from hxbus.metrics_view import Scrape, View, quantile, scrape
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


def _serve(page: str) -> tuple[ThreadingHTTPServer, str]:
    """An exposition page on a free local port, served from a thread."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/metrics"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_bridges_workers_are_summed_and_absent_workers_are_not_down() -> None:
    """Worker 1 and worker 2 of one bridge: their counters add up; a worker port nothing
    serves (the bridge runs two workers, not three) is neither an error nor a role."""
    worker_1, url_1 = _serve(PAGE.format(xuzhou=3.0, jining=1.0, slow=0.0))
    worker_2, url_2 = _serve(PAGE.format(xuzhou=4.0, jining=2.0, slow=0.0))
    absent = f"http://127.0.0.1:{_closed_port()}/metrics"
    try:
        reading = scrape([url_1], optional=[url_2, absent])
    finally:
        worker_1.shutdown()
        worker_2.shutdown()
    view = View(reading, None)
    assert ([url_1], [url_2], {}) == (reading.up, reading.workers_up, reading.errors)
    assert 7.0 == view.total("hx_published_total", agency="320300000000").total
    assert {(): 24.0} == view.gauge("hx_consumer_lag_messages", ())


def test_worker_urls_are_the_bridge_ports_in_steps_of_ten() -> None:
    """Jiangsu's bridge serves on 9411: its workers 2..8 on 9421..9481
    (deploy/prometheus/bridge-workers.yml); other roles have no workers."""
    roles = {role.name: role for role in role_ports(load_agreement(DEFAULT_AGREEMENT_PATH))}
    expected = [f"http://127.0.0.1:{port}/metrics" for port in range(9421, 9482, 10)]
    assert expected == roles["bridge JS"].worker_urls()
    assert [] == roles["publisher"].worker_urls()
