"""A province bridge as the operator runs it (``hxbus bridge run``), in a subprocess.

The benchmark measures the real command: the same process, consumer runtime, sink and
fsync policy a bureau runs. Its JSON log lines go to a file (a pipe nobody reads would
stall it); the timestamps of its ``bridge_message`` lines give its throughput, and
``/proc/<pid>/status`` its peak resident memory (``VmHWM``), sampled while it runs — of
the process and, with ``--workers N``, of each worker it started (its children).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from runtime import Settings
from schemas.errors import BenchFailed

HXBUS = [sys.executable, "-m", "hxbus"]
#: Clock ticks per second of ``/proc/<pid>/stat``'s CPU times.
_TICKS = os.sysconf("SC_CLK_TCK")


def role_env(settings: Settings, *, log_level: str) -> dict[str, str]:
    """The environment of an ``hxbus`` role the bench starts: this run's broker, agreement,
    state dir (keys, state files) and Kafka client, and the given log level."""
    return {
        **os.environ,
        "HX_BOOTSTRAP": settings.bootstrap,
        "HX_AGREEMENT": str(settings.agreement),
        "HX_STATE_DIR": str(settings.state_dir),
        "HX_LOG_LEVEL": log_level,
        "HX_KAFKA_CLIENT": settings.kafka_client,
    }


class BridgeProcess:
    """``hxbus bridge run --province P --root ROOT --group G``: its inbox root and log in
    ``workdir``, its keys and state files in the settings' state dir."""

    def __init__(
        self,
        settings: Settings,
        province: str,
        group: str,
        workdir: Path,
        *,
        max_idle: float | None = None,
        extra: Sequence[str] = (),
        source: Path | None = None,
    ) -> None:
        """``source``: run the bridge of that source tree (another commit's, for a
        before/after in one run) instead of this one's."""
        self.root = workdir / f"root-{province.lower()}{'-' + source.name if source else ''}"
        self.log_path = workdir / f"bridge-{province.lower()}-{group[-8:]}.log"
        # The run's state dir (bench.run: its temporary one, in ``role_env``) holds the
        # bridge's signing key; the bridge's own state files there are named after its group.
        workdir.mkdir(parents=True, exist_ok=True)
        argv = [*HXBUS, "bridge", "run", "--province", province, "--root", str(self.root)]
        argv += ["--group", group, "--metrics-port", "0"]
        if max_idle is not None:
            argv += ["--until-idle", f"{max_idle:g}"]
        argv += extra
        env = role_env(settings, log_level="INFO")
        if source is not None:
            env["PYTHONPATH"] = str(source)
        with self.log_path.open("wb") as log_file:
            self.process = subprocess.Popen(
                argv, stdout=log_file, stderr=subprocess.STDOUT, env=env
            )
        self.peak_rss_kb = 0
        #: Peak VmHWM of each worker the process started (``--workers N``), by pid.
        self.children_peak_rss_kb: dict[int, int] = {}
        #: CPU seconds (user + system) last seen of the process and each worker, by pid.
        self.cpu_s: dict[int, float] = {}
        #: (Unix time, CPU seconds of the process and its workers together), every sample.
        self.cpu_samples: list[tuple[float, float]] = []
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, name="bench-rss", daemon=True)
        self._sampler.start()

    def wait_assigned(self, timeout_s: float = 60.0) -> None:
        """Return once the bridge holds its partitions (its ``partitions_assigned`` line)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(line.get("event") == "partitions_assigned" for line in self.lines()):
                return
            if self.process.poll() is not None:
                raise BenchFailed(f"bridge exited with {self.process.returncode}: {self.tail()}")
            time.sleep(0.1)
        raise BenchFailed(f"bridge held no partitions after {timeout_s:g} s: {self.tail()}")

    def wait(self, timeout_s: float) -> None:
        """Wait for the bridge to stop by itself (``--until-idle``)."""
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.stop()
            raise BenchFailed(f"bridge still running after {timeout_s:g} s") from None
        self._finish()

    def stop(self) -> None:
        """SIGTERM (the bridge finishes its batch and commits), then wait."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._finish()

    def lines(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (others skipped)."""
        out = []
        for text in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if text.startswith("{"):
                try:
                    out.append(json.loads(text))
                except json.JSONDecodeError:
                    continue
        return out

    def message_span(self) -> tuple[int, float]:
        """Messages the bridge finished, and seconds from holding its partitions (its first
        fetch follows) to its last message."""
        lines = self.lines()
        stamps = [_stamp(line) for line in lines if line.get("event") == "bridge_message"]
        assigned = [_stamp(line) for line in lines if line.get("event") == "partitions_assigned"]
        if not stamps or not assigned:
            return len(stamps), 0.0
        return len(stamps), max(stamps) - min(assigned)

    def stamps(self, event: str) -> list[float]:
        """The times (Unix seconds) of the log lines of ``event``, in order."""
        return sorted(_stamp(line) for line in self.lines() if line.get("event") == event)

    def message_cpu_s(self) -> float:
        """CPU seconds (user + system) the bridge spent from holding its partitions to its
        last message: the samples nearest those two moments. On a machine shared with
        other work this moves far less than the wall-clock rate does."""
        lines = self.lines()
        stamps = [_stamp(line) for line in lines if line.get("event") == "bridge_message"]
        assigned = [_stamp(line) for line in lines if line.get("event") == "partitions_assigned"]
        if not stamps or not assigned or not self.cpu_samples:
            return 0.0

        def cpu_at(moment: float) -> float:
            return min(self.cpu_samples, key=lambda sample: abs(sample[0] - moment))[1]

        return max(cpu_at(max(stamps)) - cpu_at(min(assigned)), 0.0)

    def tail(self, count: int = 5) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return " | ".join(text.splitlines()[-count:])

    def _finish(self) -> None:
        self._done.set()
        self._sampler.join(timeout=2)
        if self.process.returncode not in (0, -15):
            raise BenchFailed(f"bridge exited with {self.process.returncode}: {self.tail()}")

    def _sample(self) -> None:
        pid = self.process.pid
        while not self._done.wait(0.1):
            peak = _peak_rss_kb(pid)
            if peak is None:
                return
            self.peak_rss_kb = max(self.peak_rss_kb, peak)
            self._note_cpu(pid)
            for child in _children(pid):
                peak = _peak_rss_kb(child)
                if peak is not None:
                    self.children_peak_rss_kb[child] = max(
                        self.children_peak_rss_kb.get(child, 0), peak
                    )
                self._note_cpu(child)
            self.cpu_samples.append((time.time(), sum(self.cpu_s.values())))

    def cpu_since(self, moment: float) -> float:
        """CPU seconds the process and its workers spent after ``moment`` (Unix time)."""
        before = [cpu for at, cpu in self.cpu_samples if at <= moment]
        return sum(self.cpu_s.values()) - (before[-1] if before else 0.0)

    def _note_cpu(self, pid: int) -> None:
        """User + system CPU seconds of ``pid`` so far (``/proc/<pid>/stat``, fields 14-15)."""
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return
        self.cpu_s[pid] = (int(fields[11]) + int(fields[12])) / _TICKS


def _peak_rss_kb(pid: int) -> int | None:
    """``VmHWM`` of ``pid`` in kB (None: the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _stamp(line: dict[str, Any]) -> float:
    return datetime.fromisoformat(line["timestamp"]).timestamp()
