"""Backoff computation and the per-partition retry book of the consumer runtime."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers import RetryBook, RetryPolicy


def test_ceiling_doubles_from_base_delay() -> None:
    """The backoff ceiling starts at base_delay and doubles with each attempt."""
    policy = RetryPolicy(base_delay=0.5, max_delay=100.0)
    assert [0.5, 1.0, 2.0, 4.0, 8.0] == [policy.ceiling(n) for n in range(1, 6)]


def test_ceiling_is_capped_at_max_delay() -> None:
    """No ceiling exceeds max_delay, however many attempts (no float overflow either)."""
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0)
    assert [16.0, 30.0, 30.0, 30.0] == [policy.ceiling(n) for n in (6, 7, 50, 10_000)]


def test_backoff_is_full_jitter_over_the_ceiling() -> None:
    """The wait is the random fraction times the ceiling: anywhere from 0 to the ceiling."""
    policy = RetryPolicy(base_delay=1.0, max_delay=60.0)
    waits = [policy.backoff(3, rng=lambda f=f: f) for f in (0.0, 0.25, 1.0)]
    assert [0.0, 1.0, 4.0] == waits


@given(attempt=st.integers(min_value=-5, max_value=100_000), fraction=st.floats(0.0, 1.0))
def test_backoff_stays_within_zero_and_max_delay(attempt: int, fraction: float) -> None:
    """Whatever the attempt number and the random draw, 0 <= wait <= max_delay."""
    policy = RetryPolicy(base_delay=0.2, max_delay=30.0)
    wait = policy.backoff(attempt, rng=lambda: fraction)
    assert (True, True) == (wait >= 0.0, wait <= 30.0)


def test_policy_refuses_nonsense() -> None:
    """A base delay of zero or a cap below it is refused when the policy is built."""
    with pytest.raises(ValueError, match="base_delay"):
        RetryPolicy(base_delay=0.0)
    with pytest.raises(ValueError, match="base_delay"):
        RetryPolicy(base_delay=5.0, max_delay=1.0)


def test_never_exhausted_by_default() -> None:
    """By default a retriable failure is retried for ever (never dead-lettered)."""
    assert False is RetryPolicy().exhausted(1_000_000)


def test_exhausted_after_dead_letter_after_attempts() -> None:
    """With dead_letter_after=3 the third attempt is the last."""
    policy = RetryPolicy(dead_letter_after=3)
    assert [False, False, True] == [policy.exhausted(n) for n in (1, 2, 3)]


def _book() -> RetryBook[str]:
    return RetryBook(
        RetryPolicy(base_delay=1.0, max_delay=8.0, stall_alert_after=10.0), lambda: 1.0
    )


def test_failures_at_one_offset_count_up() -> None:
    """Failing again at the same offset is one more attempt, with a longer backoff."""
    book = _book()
    book.fail("p0", 42, "sink_unavailable", now=100.0)
    state = book.fail("p0", 42, "sink_unavailable", now=101.0)
    assert (2, 103.0, 100.0) == (state.attempts, state.resume_at, state.first_failure)


def test_failure_at_a_new_offset_starts_over() -> None:
    """When the head moved on, a failure at the next offset is attempt 1 again."""
    book = _book()
    book.fail("p0", 42, "sink_unavailable", now=100.0)
    book.fail("p0", 42, "sink_unavailable", now=101.0)
    state = book.fail("p0", 43, "broker_unavailable", now=102.0)
    assert (1, 43, "broker_unavailable") == (state.attempts, state.offset, state.reason)


def test_partitions_come_due_after_their_backoff_once() -> None:
    """take_due hands a partition back once its backoff elapsed, and only once."""
    book = _book()
    book.fail("p0", 1, "sink_unavailable", now=100.0)  # due at 101
    book.fail("p1", 1, "sink_unavailable", now=100.5)  # due at 101.5
    assert ([], ["p0"], ["p1"], []) == (
        book.take_due(100.9),
        book.take_due(101.0),
        book.take_due(102.0),
        book.take_due(103.0),
    )


def test_seconds_to_next_counts_only_paused_partitions() -> None:
    """The poll timeout shrinks to the next resume; a resumed partition no longer counts."""
    book = _book()
    book.fail("p0", 1, "sink_unavailable", now=100.0)
    before = book.seconds_to_next(100.25)
    book.take_due(101.0)
    assert (0.75, None) == (before, book.seconds_to_next(101.0))


def test_success_at_or_after_the_failed_offset_clears_the_state() -> None:
    """A partition leaves the book when the failed message (or a later one) is done."""
    book = _book()
    book.fail("p0", 10, "sink_unavailable", now=0.0)
    book.succeeded("p0", 9)
    still_there = "p0" in book
    book.succeeded("p0", 10)
    assert (True, False) == (still_there, "p0" in book)


def test_stalled_counts_partitions_failing_longer_than_the_alert_limit() -> None:
    """Only partitions failing for at least stall_alert_after seconds count as stalled."""
    book = _book()
    book.fail("p0", 1, "sink_unavailable", now=0.0)
    book.fail("p1", 1, "sink_unavailable", now=5.0)
    assert (1, 2) == (book.stalled(12.0), book.stalled(15.0))


def test_forget_drops_revoked_partitions() -> None:
    """After a rebalance the partitions handed to another consumer are forgotten."""
    book = _book()
    book.fail("p0", 1, "sink_unavailable", now=0.0)
    book.fail("p1", 1, "sink_unavailable", now=0.0)
    book.forget({"p0"})
    assert (1, False, True) == (len(book), "p0" in book, "p1" in book)
