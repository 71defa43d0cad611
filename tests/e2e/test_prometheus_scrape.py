"""A real Prometheus scrapes a running hxbus role, and its query API returns the count
the role reported: here ``hxbus simulate``'s events stored equal
``hx_published_total{outcome="ok"}`` as Prometheus stored it.

Prometheus comes with Debian's ``prometheus`` package (``scripts/setup`` installs it); a
missing binary fails the test rather than skipping it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from e2e_bridge_support import finish, inbox_ids, prepare_groups, start_bridge
from e2e_metrics_support import free_port, start_simulate, stop, wait_ready

from producers import Publisher
from runtime import Settings, run_provisioning
from schemas import Agreement, parse_event

pytestmark = [pytest.mark.broker, pytest.mark.slow]

SUMMARY_TOTAL = re.compile(r"total +stored +(\d+) +refused +(\d+)")
JOB = "hxbus-publisher"  # the job name of the one target this test's Prometheus scrapes
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "events" / "person_alert_xuzhou.json"


def _config(target_port: int) -> str:
    return f"""\
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: {JOB}
    static_configs:
      - targets: ["127.0.0.1:{target_port}"]
"""


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A Prometheus of our own, scraping a port chosen now; (API URL, that port)."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail(
            "prometheus is not installed (Debian package prometheus; scripts/setup installs it)"
        )
    target, listen = free_port(), free_port()
    root = tmp_path / "prometheus"
    root.mkdir()
    (root / "prometheus.yml").write_text(_config(target), encoding="utf-8")
    with (root / "prometheus.log").open("w") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{listen}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{listen}"
    try:
        _wait_ready(url, process, root / "prometheus.log")
        yield url, target
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"prometheus ended: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/-/ready", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"prometheus not ready after 60 s: {log.read_text()[-2000:]}")


def _query(url: str, promql: str) -> float | None:
    """The single value of an instant query, or None when it returns nothing."""
    answer = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=10).json()
    assert "success" == answer["status"], answer
    result = answer["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def test_prometheus_scrapes_the_published_count_of_simulate(
    kafka_bootstrap: str, agreement: Agreement, prometheus: tuple[str, int], tmp_path: Path
) -> None:
    """simulate sends 100 events; Prometheus's hx_published_total{outcome="ok"} is 100."""
    url, port = prometheus
    run_provisioning(Settings(bootstrap=kafka_bootstrap), agreement)
    simulate = start_simulate(
        kafka_bootstrap, port, tmp_path / "sim", rate=20, duration=5, linger=6
    )
    wait_ready(port, simulate)
    status = stop(simulate)
    summary = SUMMARY_TOTAL.search((tmp_path / "sim" / "simulate.out").read_text())
    assert (0, True) == (status, summary is not None)
    assert summary is not None
    stored = int(summary.group(1))
    # The process has ended: its series are stale now, so read the last value scraped.
    promql = f'sum(last_over_time(hx_published_total{{job="{JOB}", outcome="ok"}}[10m]))'
    deadline = time.monotonic() + 30
    scraped = _query(url, promql)
    while scraped != stored and time.monotonic() < deadline:
        time.sleep(0.5)
        scraped = _query(url, promql)
    assert (100, 100) == (stored, scraped)


def test_prometheus_scrapes_a_bridge_whose_delivered_count_equals_the_events_sent(
    settings: Settings,
    agreement: Agreement,
    prometheus: tuple[str, int],
    unique_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    """20 alerts for Jiangsu: Prometheus's delivered count is the files in the inbox."""
    url, port = prometheus
    group = unique_name("g")
    prepare_groups(settings, agreement, {"JS": group})
    sample = json.loads(FIXTURE.read_text(encoding="utf-8"))
    events = []
    for _ in range(20):  # the same alert text, 20 distinct alerts and messages
        sample["id"], sample["data"]["alert_id"] = str(uuid.uuid4()), str(uuid.uuid4())
        events.append(parse_event(sample, agreement))
    with Publisher(settings, agreement) as publisher:
        assert all(outcome.ok for outcome in publisher.publish_many(events))

    root = tmp_path / "jiangsu"
    bridge = start_bridge(
        settings, "JS", root, group, "--until-idle", "3", "--metrics-port", str(port),
        "--metrics-linger", "6",
    )  # fmt: skip
    finish(bridge, timeout=90)

    # On a broker other tests share, their traffic may reach this bridge too: what
    # Prometheus holds must equal every file the bridge wrote, ours among them.
    sent = {str(event.envelope.message_id) for event in events}
    delivered = inbox_ids(root)
    assert sent <= delivered
    promql = (
        f'sum(last_over_time(hx_bridge_deliveries_total{{job="{JOB}", outcome="delivered"}}[10m]))'
    )
    assert len(delivered) == _query(url, promql)
