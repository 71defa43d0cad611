"""Several worker processes of one province's bridge (``hxbus bridge run --workers N``).

A Kafka consumer is not thread-safe and one Python process uses one core for the hot
path, so a bridge scales out as processes: the supervisor (this module, the process the
operator started) runs N children, each a whole ``hxbus bridge run`` with its own
consumer in the same consumer group, so the group coordinator spreads the partitions over
them and moves a dead worker's partitions to the others.

What the workers share, and why that is safe (``runtime.state_db``):

- the inbox root: a file is named after its message id and appears by an atomic rename,
  so two workers delivering the same message (a partition moved between a flush and a
  commit) write one file;
- the dedupe store, held alerts and authority facts: one SQLite file each per group, WAL,
  a busy timeout, and every batch's writes in one ``BEGIN IMMEDIATE`` transaction. Per
  worker files would not do: after a rebalance a partition's next messages (a withdrawal
  of an alert delivered before) go to a worker that must know what the other delivered;
- the outbox: only worker 1 publishes it (two scanners of one folder would race for
  each file); the others run ``--no-outbound``;
- the Kafka sink's transactional id: ``<group>-<worker - 1>``, stable across restarts,
  so a restarted worker fences its dead predecessor and no other worker.

The supervisor:

- forwards SIGTERM/SIGINT to the workers as SIGTERM (each finishes its batch, commits,
  closes) and waits ``stop_timeout_s`` for them before SIGKILL;
- restarts a worker that died (killed, or an exit status other than 0 and 2) after a
  backoff of 1 s doubling to 30 s, back to 1 s once a worker has run for a minute;
- gives up when workers keep dying: more than ``RestartPolicy.max_deaths`` (5) deaths
  within ``window_s`` (60 s) stops every worker and exits 1; a worker that exits 2 (its
  configuration is wrong: restarting cannot help) stops them all and exits 2;
- ends with exit 0 once every worker has stopped by itself (``--until-idle``);
- takes its workers with it: each child asks Linux for SIGTERM when its parent dies
  (``prctl(PR_SET_PDEATHSIG)``), so a supervisor killed with -9 leaves no orphan; the
  children run in their own session, so a terminal's Ctrl-C reaches only the supervisor,
  which stops them once, in order.

Metrics: each worker serves its own ``/metrics`` on ``worker_metrics_port`` (the
province's port for worker 1, then steps of ``WORKER_PORT_STEP``: the bridges' ports
9411–9414 are consecutive, so worker 2 of Jiangsu is 9421). The supervisor serves none.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

import structlog

log = structlog.get_logger("hxbus.bridge")

#: Worker N serves /metrics on the province's port + (N - 1) × this.
WORKER_PORT_STEP = 10
#: The most workers one bridge may run (ports stay below the next hundred).
MAX_WORKERS = 8
#: A worker's exit status that says its configuration is wrong (``hxbus`` exits 2).
EXIT_CONFIG = 2
#: What ``Supervisor.run`` returns when workers kept dying.
EXIT_WORKERS_DYING = 1
#: Linux ``prctl`` option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


def worker_metrics_port(base: int, worker: int) -> int:
    """Where worker ``worker`` (1-based) serves /metrics when worker 1 serves on ``base``
    (0: off for every worker)."""
    if base == 0:
        return 0
    return base + WORKER_PORT_STEP * (worker - 1)


def die_with_parent(parent: int) -> None:
    """In a child, before it runs: SIGTERM this process when its parent dies (Linux), and
    end now if the parent already died (the child was re-parented before it asked)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            os._exit(EXIT_CONFIG)  # cannot promise no orphan: do not start at all
    if os.getppid() != parent:
        os._exit(0)


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """When a dead worker is started again, and when the supervisor gives up."""

    first_backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    #: A worker that ran this long before dying starts again after ``first_backoff_s``.
    healthy_after_s: float = 60.0
    max_deaths: int = 5
    window_s: float = 60.0


@dataclass(slots=True)
class _Worker:
    index: int
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff_s: float = 0.0
    restart_at: float | None = None
    finished: bool = False
    restarts: int = 0


@dataclass(slots=True)
class SupervisorStats:
    """What a supervised run did (the tests and the bench read it)."""

    restarts: int = 0
    deaths: list[tuple[int, int]] = field(default_factory=list)  # (worker, exit status)


class Supervisor:
    """Runs ``count`` workers, the command of each from ``argv_for(index)`` (1-based)."""

    def __init__(
        self,
        count: int,
        argv_for: Callable[[int], Sequence[str]],
        *,
        env: dict[str, str] | None = None,
        policy: RestartPolicy | None = None,
        stop_timeout_s: float = 60.0,
    ) -> None:
        if not 1 <= count <= MAX_WORKERS:
            raise ValueError(f"workers: between 1 and {MAX_WORKERS}, not {count}")
        self._argv_for = argv_for
        self._env = env
        self._policy = policy or RestartPolicy()
        self._stop_timeout_s = stop_timeout_s
        self._workers = [_Worker(i) for i in range(1, count + 1)]
        self._stop = threading.Event()
        self._deaths: deque[float] = deque()
        self.stats = SupervisorStats()

    @property
    def pids(self) -> dict[int, int]:
        """The running workers' process ids, by worker index."""
        return {
            w.index: w.process.pid
            for w in self._workers
            if w.process is not None and w.process.poll() is None
        }

    def stop(self) -> None:
        """Ask the run to stop its workers and return (any thread, or a signal handler)."""
        self._stop.set()

    def run(self) -> int:
        """Run the workers until a signal, all finished, or they keep dying; the exit status.

        Installs SIGTERM/SIGINT handlers (main thread only) for the run."""

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("workers_stopping", signal=signal.Signals(signum).name)
            self._stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            return self._run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _run(self) -> int:
        status = 0
        try:
            for worker in self._workers:
                self._start(worker)
            while not self._stop.wait(0.2):
                status = self._tend()
                if status >= 0:
                    return status
            return 0
        finally:
            self._stop_all()

    def _tend(self) -> int:
        """One look at every worker; -1 to go on, else the exit status to end with."""
        now = time.monotonic()
        for worker in self._workers:
            process = worker.process
            if process is None:
                if worker.restart_at is not None and now >= worker.restart_at:
                    self._start(worker)
                continue
            code = process.poll()
            if code is None:
                continue
            worker.process = None
            if code == 0:
                worker.finished = True
                log.info("worker_finished", worker=worker.index)
                continue
            if code == EXIT_CONFIG:
                log.error("worker_config_error", worker=worker.index, exit_status=code)
                return EXIT_CONFIG
            self.stats.deaths.append((worker.index, code))
            self._deaths.append(now)
            while self._deaths and now - self._deaths[0] > self._policy.window_s:
                self._deaths.popleft()
            if len(self._deaths) > self._policy.max_deaths:
                log.error(
                    "workers_keep_dying",
                    deaths=len(self._deaths),
                    window_s=self._policy.window_s,
                )
                return EXIT_WORKERS_DYING
            ran = now - worker.started_at
            if ran >= self._policy.healthy_after_s or worker.backoff_s == 0:
                worker.backoff_s = self._policy.first_backoff_s
            else:
                worker.backoff_s = min(worker.backoff_s * 2, self._policy.max_backoff_s)
            worker.restart_at = now + worker.backoff_s
            log.warning(
                "worker_died",
                worker=worker.index,
                exit_status=code,
                ran_s=round(ran, 1),
                restart_in_s=worker.backoff_s,
            )
        if all(w.finished for w in self._workers):
            return 0
        return -1

    def _start(self, worker: _Worker) -> None:
        # Standard output and error are the supervisor's: one stream of JSON lines.
        worker.process = subprocess.Popen(  # our own interpreter and module
            list(self._argv_for(worker.index)),
            stdin=subprocess.DEVNULL,
            env=self._env,
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops them
            preexec_fn=_pdeathsig_for(os.getpid()),  # the supervisor starts no threads
        )
        if worker.restart_at is not None:
            worker.restarts += 1
            self.stats.restarts += 1
        worker.restart_at = None
        worker.started_at = time.monotonic()
        log.info("worker_started", worker=worker.index, pid=worker.process.pid)

    def _stop_all(self) -> None:
        """SIGTERM every live worker, wait for them, SIGKILL what outlived the timeout."""
        running = [w.process for w in self._workers if w.process is not None]
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self._stop_timeout_s
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker_killed", pid=process.pid, after_s=self._stop_timeout_s)
                process.kill()
                process.wait()
        for worker in self._workers:
            worker.process = None


def _pdeathsig_for(parent: int) -> Callable[[], None]:
    def preexec() -> None:
        die_with_parent(parent)

    return preexec
