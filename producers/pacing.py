"""Holding a steady event rate: a token bucket against a monotonic clock.

The simulator must offer the bus the rate asked for, not a burst followed by silence,
and must not drift when a send is slow: tokens accrue with elapsed time (so a late event
is caught up at once, up to ``burst``), and an event waits only until its token is there.
The clock and the sleep are parameters so the unit tests run on a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class TokenBucket:
    """``rate`` events per second, up to ``burst`` at once after a pause; ``take()`` waits.

    Kept as the generic cell rate algorithm (the token bucket in its "virtual scheduling"
    form): one theoretical arrival time instead of a fractional token count, so that
    float rounding can never leave it one hair short of a token and spinning.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._interval = 1.0 / rate
        self._tolerance = (max(1.0, burst) - 1.0) * self._interval
        self._clock = clock
        self._sleep = sleep
        self._due = clock()  # the first event goes at once

    def take(self) -> None:
        """Wait until the next event is due (or within the burst allowance), then count it."""
        now = self._clock()
        allowed_at = self._due - self._tolerance
        if now < allowed_at:
            self._sleep(allowed_at - now)
            now = allowed_at
        self._due = max(self._due, now) + self._interval


@dataclass(slots=True)
class RateMeter:
    """Counts what passed and when: the achieved rate, measured, not assumed."""

    clock: Callable[[], float] = time.monotonic
    count: int = 0
    started: float | None = None
    last: float | None = None

    def tick(self) -> None:
        now = self.clock()
        if self.started is None:
            self.started = now
        self.last = now
        self.count += 1

    @property
    def elapsed(self) -> float:
        if self.started is None or self.last is None:
            return 0.0
        return self.last - self.started

    @property
    def rate(self) -> float:
        """Events per second between the first and the last event (0 for fewer than two)."""
        return (self.count - 1) / self.elapsed if self.count > 1 and self.elapsed > 0 else 0.0


def paced(items: Iterable[T], bucket: TokenBucket, meter: RateMeter | None = None) -> Iterator[T]:
    """Yield ``items`` no faster than the bucket allows, ticking ``meter`` at each one."""
    for item in items:
        bucket.take()
        if meter is not None:
            meter.tick()
        yield item
