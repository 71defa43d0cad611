"""``hxbus top`` under a pseudo-terminal, watching a running ``hxbus simulate``: the
live view shows events flowing (non-zero throughput), refreshed in place, and ends
cleanly on Ctrl-C."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_metrics_support import free_port, start_simulate, stop, wait_ready

from runtime import Settings, run_provisioning
from schemas import Agreement

pytestmark = [pytest.mark.broker, pytest.mark.slow]

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")
HEADLINE = re.compile(r"published (\d+\.\d)/s \((\d+)\)")


def _moving_frames(output: str) -> list[float]:
    """The published rates of the frames so far that show events flowing."""
    return [float(rate) for rate, _total in HEADLINE.findall(output) if float(rate) > 0]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run_under_pty(argv: list[str], frames: int, timeout_s: float = 90.0) -> tuple[str, int]:
    """Run ``argv`` on a pseudo-terminal until ``frames`` frames show events flowing (or
    ``timeout_s`` passed), then Ctrl-C; (output without escape codes, exit status)."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "60"}
    process = subprocess.Popen(
        argv,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
        close_fds=True,
        # Under a shell's background job (nohup … &) SIGINT arrives ignored, and Python
        # then never raises KeyboardInterrupt: give the child the default a terminal gives.
        preexec_fn=_default_sigint,
    )
    os.close(terminal)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    interrupted_at: float | None = None
    while True:
        output = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
        if interrupted_at is None and (
            len(_moving_frames(output)) >= frames or time.monotonic() >= deadline
        ):
            process.send_signal(signal.SIGINT)
            interrupted_at = time.monotonic()
        ready, _, _ = select.select([controller], [], [], 0.2)
        if ready:
            try:
                data = os.read(controller, 65536)
            except OSError:  # the terminal closed: the process is gone
                break
            if not data:
                break
            chunks.append(data)
        elif interrupted_at is not None and process.poll() is not None:
            break
        if interrupted_at is not None and time.monotonic() > interrupted_at + 30:
            process.kill()
            raise AssertionError("still running 30 s after Ctrl-C")
    status = process.wait(timeout=30)
    os.close(controller)
    return ANSI.sub("", b"".join(chunks).decode("utf-8", "replace")), status


def test_top_shows_nonzero_throughput_of_a_running_simulate(
    kafka_bootstrap: str, agreement: Agreement, tmp_path: Path
) -> None:
    """simulate at 20/s; top on a terminal shows published > 0/s, refreshed frame after
    frame, and exits 0 on Ctrl-C."""
    run_provisioning(Settings(bootstrap=kafka_bootstrap), agreement)
    port = free_port()
    simulate = start_simulate(
        kafka_bootstrap, port, tmp_path / "sim", rate=20, duration=120, linger=0
    )
    try:
        wait_ready(port, simulate)
        output, status = _run_under_pty(
            [sys.executable, "-m", "hxbus", "top", "--url", f"http://127.0.0.1:{port}/metrics"],
            frames=3,
        )
    finally:
        simulate.terminate()  # it was only there to be watched
        stop(simulate)
    assert (0, 3) == (status, min(3, len(_moving_frames(output)))), output[-3000:]
    assert "published by agency" in output
