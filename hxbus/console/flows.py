"""Events per second between agencies, per pair and per event type, from message headers.

Derived from reading the topics, not from metrics: the publisher's counter knows the
sender and the type but not the receiver, and a bridge's knows the province, not the
agency. Every message's headers say who sent it (``ce_source``) and what it is
(``ce_type``); its topic says who receives it (``hx.inbox.<agency>``) or that it is
broadcast to every partner (``hx.alerts.*``, target ``*``). Only headers are read here:
no record is decoded, nothing personal is touched.

Counts go in one-second buckets by the message's timestamp; a rate is the mean over the
last ``WINDOW_S`` complete seconds, so a message read late (the console catching up) still
counts in its own second, and history older than the window counts for nothing.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

#: Seconds a rate is averaged over.
WINDOW_S = 5
#: The target of a broadcast (alert topics): every partner.
EVERYONE = "*"

Pair = tuple[str, str, str]  # source, target, event type


@dataclass(frozen=True, slots=True)
class Flow:
    """Events per second from ``source`` to ``target`` of one ``event_type``."""

    source: str
    target: str
    event_type: str
    rate: float


class FlowCounter:
    """Counts messages per second and pair; thread-safe (a reader thread adds, the web reads)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._buckets: dict[int, dict[Pair, int]] = defaultdict(lambda: defaultdict(int))
        self._lock = threading.Lock()

    def add(self, source: str, target: str, event_type: str, timestamp_ms: int) -> None:
        second = timestamp_ms // 1000
        if second < self._now() - WINDOW_S - 1:
            return  # history: no part of any rate the console shows
        with self._lock:
            self._buckets[second][(source, target, event_type)] += 1

    def flows(self) -> list[Flow]:
        """The rates of every pair seen in the window, highest first."""
        now = self._now()
        first, last = now - WINDOW_S, now - 1  # the complete seconds before this one
        totals: dict[Pair, int] = defaultdict(int)
        with self._lock:
            for second in [s for s in self._buckets if s < first]:
                del self._buckets[second]
            for second, counts in self._buckets.items():
                if first <= second <= last:
                    for pair, count in counts.items():
                        totals[pair] += count
        flows = [Flow(*pair, rate=count / WINDOW_S) for pair, count in totals.items()]
        return sorted(flows, key=lambda f: (-f.rate, f.source, f.target, f.event_type))

    def _now(self) -> int:
        return int(self._clock())
