"""The bridge's worker supervisor (``bridge.workers``), with small Python children in place
of bridge workers: restart with backoff, giving up, stopping, and no orphan left."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from bridge import RestartPolicy, Supervisor, worker_metrics_port
from hxbus.role_ports import bridge_ports
from schemas import Agreement

FAST = RestartPolicy(first_backoff_s=0.05, max_backoff_s=0.2, max_deaths=3, window_s=60)


def child(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_worker_ports_step_past_the_four_bridges() -> None:
    """Worker K of a bridge on port P serves on P + 10 x (K - 1); port 0 stays off."""
    assert [9411, 9421, 9431, 0] == [
        worker_metrics_port(9411, 1),
        worker_metrics_port(9411, 2),
        worker_metrics_port(9411, 3),
        worker_metrics_port(0, 2),
    ]


def test_workers_that_finish_end_the_run_with_0() -> None:
    """Every worker exiting 0 (idle stop) ends the run with 0 and no restart."""
    supervisor = Supervisor(2, lambda _: child("pass"), policy=FAST)
    assert (0, 0) == (supervisor.run(), supervisor.stats.restarts)


def test_a_dead_worker_is_started_again(tmp_path: Path) -> None:
    """A worker that died (exit 1) is started again after the backoff."""
    marker = tmp_path / "died-once"
    code = f"""
        import pathlib, sys
        marker = pathlib.Path({str(marker)!r})
        if not marker.exists():
            marker.touch()
            sys.exit(1)
    """
    supervisor = Supervisor(1, lambda _: child(code), policy=FAST)
    assert (0, 1, [(1, 1)]) == (
        supervisor.run(),
        supervisor.stats.restarts,
        supervisor.stats.deaths,
    )


def test_workers_that_keep_dying_end_the_run_with_1() -> None:
    """More deaths than the policy allows within its window: every worker stopped, exit 1."""
    supervisor = Supervisor(1, lambda _: child("import sys; sys.exit(3)"), policy=FAST)
    status = supervisor.run()
    assert (1, 4, {}) == (status, len(supervisor.stats.deaths), supervisor.pids)


def test_a_configuration_error_stops_every_worker_with_2(tmp_path: Path) -> None:
    """A worker exiting 2 (bad configuration) is not restarted: the others are stopped and
    the run ends with 2."""
    stopped = tmp_path / "stopped"
    sleeper = f"""
        import pathlib, signal, sys, time
        def stop(*_):
            pathlib.Path({str(stopped)!r}).touch()
            sys.exit(0)
        signal.signal(signal.SIGTERM, stop)
        time.sleep(60)
    """
    argv = {1: child(sleeper), 2: child("import sys, time; time.sleep(0.5); sys.exit(2)")}
    supervisor = Supervisor(2, lambda i: argv[i], policy=FAST)
    assert (2, True, 0) == (supervisor.run(), stopped.exists(), supervisor.stats.restarts)


def test_stop_sends_sigterm_to_every_worker(tmp_path: Path) -> None:
    """``stop`` (what SIGTERM/SIGINT do) ends every worker with SIGTERM and the run with 0."""
    code = """
        import pathlib, signal, sys, time
        def stop(*_):
            pathlib.Path(sys.argv[1]).touch()
            sys.exit(0)
        signal.signal(signal.SIGTERM, stop)
        time.sleep(60)
    """
    supervisor = Supervisor(2, lambda i: [*child(code), str(tmp_path / f"w{i}")], policy=FAST)
    threading.Timer(1.0, supervisor.stop).start()
    assert (0, ["w1", "w2"]) == (supervisor.run(), sorted(p.name for p in tmp_path.iterdir()))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_a_supervisor_killed_with_sigkill(tmp_path: Path) -> None:
    """kill -9 of the supervisor leaves no worker behind (PR_SET_PDEATHSIG)."""
    script = f"""
        import sys
        from bridge import Supervisor
        worker = [sys.executable, "-c", "import os, pathlib, time; "
                  f"pathlib.Path({str(tmp_path)!r}, str(os.getpid())).touch(); time.sleep(60)"]
        sys.exit(Supervisor(2, lambda _: worker).run())
    """
    supervisor = subprocess.Popen(child(script), cwd=Path.cwd(), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while len(list(tmp_path.iterdir())) < 2:
        assert time.monotonic() < deadline, "workers did not start"
        time.sleep(0.05)
    workers = [int(p.name) for p in tmp_path.iterdir()]
    supervisor.kill()
    supervisor.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [] == [p for p in workers if _alive(p)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child of ours that ended but was not reaped yet is a zombie: not running.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_prometheus_lists_worker_2_of_every_bridge_on_its_port(agreement: Agreement) -> None:
    """deploy/prometheus/bridge-workers.yml scrapes worker 2 of each province where it
    serves (the bridge's port + 10)."""
    listed = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "bridge-workers.yml"
    text = listed.read_text(encoding="utf-8")
    pattern = r'127\.0\.0\.1:(\d+)"\]\n  labels: \{province: (\w+)'
    found = {province: int(port) for port, province in re.findall(pattern, text)}
    ports = bridge_ports(agreement)
    assert {p: worker_metrics_port(port, 2) for p, port in ports.items()} == found
