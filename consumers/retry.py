"""Retrying a failed partition without losing its order or the consumer's group membership.

When a sink is down (``SinkUnavailable``), the broker does not answer, or a flush fails,
the runtime does not sleep in the loop (that would blow ``max_poll_interval_ms`` and get
the consumer thrown out of its group) and does not skip ahead (that would break the order
of an alert's revisions and its withdrawal). It pauses just that partition, seeks it back
to the failed offset, keeps polling the other partitions, and resumes it after a backoff:
exponential, capped, with full jitter, so that many consumers facing one recovering sink do
not retry in lockstep.

Giving up: by default, never. A retriable error says the message is fine and the sink is
not; moving it to the DLQ would let a later revision or a withdrawal of the same alert
overtake it, and a sink that is down for an hour would empty the whole stream into the
DLQ. So the partition waits (the lag grows, which the ops team watches), and once it has
waited longer than ``stall_alert_after`` the ``hx_consumer_stalled_partitions`` gauge counts
it, for an alert. A handler that knows one message can fail retriably for ever may set
``dead_letter_after`` (attempts); the message then goes to the DLQ with the reason
``retries_exhausted``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

P = TypeVar("P", bound=Hashable)

#: Beyond this exponent the ceiling is max_delay anyway; keeps 2**n a small float.
_MAX_EXPONENT = 30


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait between attempts, and when to raise the alarm or give up."""

    #: Ceiling of the first backoff, in seconds; it doubles with every further attempt.
    base_delay: float = 0.5
    #: No backoff is longer than this, in seconds.
    max_delay: float = 30.0
    #: A partition failing for longer than this (seconds) counts as stalled (alert metric).
    stall_alert_after: float = 300.0
    #: Attempts after which a message that keeps failing retriably goes to the DLQ with the
    #: reason ``retries_exhausted``; ``None`` (the default): keep retrying, never give up.
    dead_letter_after: int | None = None
    #: Attempts after which a message naming an alert, hit or request this receiver does
    #: not know (``AuthorityUnknown``) goes to the DLQ as ``not_authorized``. It may only
    #: be early (its alert still on the way on another topic) or forged (naming nothing):
    #: with the defaults, about 8 s of backoff on average, at most about 16 s, during
    #: which its partition waits (a backlog of orphans must not stall a stream for long).
    unknown_after: int = 6
    #: While this receiver has not yet read the other partitions it holds to their ends
    #: (a start-up backlog, a loaded machine), the missing fact may still be on its way,
    #: so ``unknown_after`` does not count yet; this many attempts are the ceiling all the
    #: same (about 95 s of backoff on average), so a forged message cannot stall its
    #: partition for good behind a stream that never quite catches up.
    unknown_ceiling: int = 12

    def __post_init__(self) -> None:
        if self.base_delay <= 0 or self.max_delay < self.base_delay:
            raise ValueError("retry policy: need 0 < base_delay <= max_delay")
        if self.dead_letter_after is not None and self.dead_letter_after < 1:
            raise ValueError("retry policy: dead_letter_after must be at least 1 attempt")
        if self.unknown_after < 1:
            raise ValueError("retry policy: unknown_after must be at least 1 attempt")
        if self.unknown_ceiling < self.unknown_after:
            raise ValueError("retry policy: unknown_ceiling must be at least unknown_after")

    def ceiling(self, attempt: int) -> float:
        """The longest wait before retry number ``attempt`` (1 = the first retry)."""
        exponent = min(max(attempt, 1) - 1, _MAX_EXPONENT)
        return min(self.max_delay, self.base_delay * 2.0**exponent)

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full jitter: a uniformly random wait in ``[0, ceiling(attempt)]``."""
        return rng() * self.ceiling(attempt)

    def exhausted(self, attempts: int) -> bool:
        """Whether a message that failed ``attempts`` times should go to the DLQ now."""
        return self.dead_letter_after is not None and attempts >= self.dead_letter_after


@dataclass(slots=True)
class RetryState:
    """One paused partition: where it resumes, how often its head failed, since when."""

    offset: int
    attempts: int
    first_failure: float
    resume_at: float
    reason: str
    #: True while the partition is paused; False once resumed and being tried again.
    waiting: bool = True


@dataclass(slots=True)
class RetryBook(Generic[P]):
    """The paused partitions of one consumer. Times are ``time.monotonic()`` seconds."""

    policy: RetryPolicy
    rng: Callable[[], float] = random.random
    _states: dict[P, RetryState] = field(default_factory=dict)

    def fail(self, partition: P, offset: int, reason: str, now: float) -> RetryState:
        """Record a failure at ``offset``; returns the state with the time to resume.

        A failure at the offset already failing counts as one more attempt; a failure at
        another offset (the head moved on) starts counting again.
        """
        state = self._states.get(partition)
        if state is None or state.offset != offset:
            state = RetryState(offset, 0, now, now, reason)
            self._states[partition] = state
        state.attempts += 1
        state.reason = reason
        state.waiting = True
        state.resume_at = now + self.policy.backoff(state.attempts, self.rng)
        return state

    def get(self, partition: P) -> RetryState | None:
        return self._states.get(partition)

    def succeeded(self, partition: P, offset: int) -> None:
        """The message at ``offset`` is done: a failure before or at it is over."""
        state = self._states.get(partition)
        if state is not None and offset >= state.offset:
            del self._states[partition]

    def forget(self, partitions: Iterable[P]) -> None:
        """Drop the state of partitions this consumer no longer owns (rebalance)."""
        for partition in partitions:
            self._states.pop(partition, None)

    def take_due(self, now: float) -> list[P]:
        """Paused partitions whose backoff has elapsed; the caller resumes them.

        They keep their state (attempts, first failure) until their head message is done.
        """
        due = [p for p, s in self._states.items() if s.waiting and s.resume_at <= now]
        for partition in due:
            self._states[partition].waiting = False
        return due

    def seconds_to_next(self, now: float) -> float | None:
        """Seconds until the next paused partition is due, or None when none waits."""
        waits = [s.resume_at for s in self._states.values() if s.waiting]
        return max(0.0, min(waits) - now) if waits else None

    def stalled(self, now: float) -> int:
        """How many partitions have been failing longer than ``stall_alert_after``."""
        limit = self.policy.stall_alert_after
        return sum(1 for s in self._states.values() if now - s.first_failure >= limit)

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, partition: object) -> bool:
        return partition in self._states
