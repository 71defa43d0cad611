"""Stop when idle: the one rule behind every role's idle stop (``--until-idle S``).

A role is idle once it is *reading* (it holds partitions: its group join is over) and its
progress (a count of messages or files done) stood still for S seconds while nothing was
waiting (a message to retry, an outbox file still to publish). The count starts at the
first assignment, not at start-up: a group join takes seconds on a loaded broker, and a
role counting from start-up could stop before it read anything. A rebalance (no
partitions held) starts the count again; so a member that holds no partitions at all
(more members than partitions) is never idle: it waits for a rebalance to give it some.

``IdleClock`` is the rule, asked by a loop that polls anyway (the consumer runtime, the
lookup service, the outbox-only bridge); ``IdleWatch`` asks it from a thread of its own
and stops a role whose progress its loop does not see (the bridge, whose outbox runs
beside the consumer).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

log = structlog.get_logger("hxbus.idle")


class IdleClock:
    """Whether a role has been idle for ``seconds`` (None: never idle)."""

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._seen: int | None = None
        self._since = clock()

    def expired(self, *, reading: bool, progress: int, busy: bool = False) -> bool:
        """True once ``progress`` stood still for ``seconds`` while ``reading`` and not
        ``busy``; each call with other news starts the count again."""
        if self.seconds is None:
            return False
        now = self._clock()
        if not reading:
            self._seen, self._since = None, now  # not reading yet (or rebalancing)
            return False
        if progress != self._seen or busy:
            self._seen, self._since = progress, now
            return False
        return now - self._since >= self.seconds


class IdleWatch:
    """Calls ``stop`` from a thread of its own once ``IdleClock(seconds)`` expires, asking
    ``reading``, ``progress`` and ``busy`` every ``poll_s`` seconds."""

    def __init__(
        self,
        seconds: float,
        stop: Callable[[], None],
        *,
        reading: Callable[[], bool],
        progress: Callable[[], int],
        busy: Callable[[], bool] = lambda: False,
        poll_s: float = 0.2,
        role: str = "role",
    ) -> None:
        self._clock = IdleClock(seconds)
        self._stop = stop
        self._reading = reading
        self._progress = progress
        self._busy = busy
        self._poll_s = poll_s
        self._role = role
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"{role}-idle", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._done.wait(self._poll_s):
            progress = self._progress()
            if self._clock.expired(reading=self._reading(), progress=progress, busy=self._busy()):
                log.info("idle_stop", role=self._role, idle_s=self._clock.seconds, seen=progress)
                self._stop()
                return
