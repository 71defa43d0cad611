"""A running ``hxbus simulate --metrics-port P`` for the tests that watch one:
``hxbus top`` under a terminal, and a real Prometheus scraping it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_simulate(
    bootstrap: str,
    port: int,
    state_dir: Path,
    *,
    rate: float,
    duration: float,
    linger: float,
) -> subprocess.Popen[str]:
    """Start simulate with /metrics on ``port`` (its output in ``state_dir``/simulate.*)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HX_BOOTSTRAP": bootstrap,
        "HX_STATE_DIR": str(state_dir),
        "HX_LOG_LEVEL": "WARNING",
    }
    argv = [sys.executable, "-m", "hxbus", "simulate", "--rate", str(rate)]
    argv += ["--duration", str(duration), "--metrics-port", str(port)]
    argv += ["--metrics-linger", str(linger)]
    with (
        (state_dir / "simulate.out").open("w") as out,
        (state_dir / "simulate.err").open("w") as err,
    ):
        return subprocess.Popen(argv, env=env, stdout=out, stderr=err, text=True)


def wait_ready(port: int, process: subprocess.Popen[str], timeout_s: float = 60.0) -> None:
    """Wait until /healthz says ready (connected, topics found); fail if the process ends."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"simulate ended with {process.returncode} before it was ready")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"simulate's /healthz on port {port} not ready after {timeout_s} s")


def stop(process: subprocess.Popen[str], timeout_s: float = 60.0) -> int:
    """Wait for ``process`` to end by itself, else terminate it; its exit status."""
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.terminate()
        return process.wait(timeout=10)
