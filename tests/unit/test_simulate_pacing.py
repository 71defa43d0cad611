"""producers.pacing: the token bucket holds a rate on a (fake) monotonic clock."""

from __future__ import annotations

import pytest

from producers import RateMeter, TokenBucket, paced


class FakeClock:
    """A monotonic clock that moves only when the code under test sleeps (or we say so)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_spaces_events_at_the_rate() -> None:
    """At 10/s, eleven events take one second: the first at once, then one per 0.1 s."""
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock, sleep=clock.sleep)
    for _ in range(11):
        bucket.take()
    assert 1.0 == pytest.approx(clock.now - 100.0)


def test_bucket_catches_up_after_a_stall_up_to_burst() -> None:
    """After a 5 s stall, ``burst`` events go at once and the next waits its turn."""
    clock = FakeClock()
    bucket = TokenBucket(10, burst=3, clock=clock, sleep=clock.sleep)
    bucket.take()
    clock.now += 5.0
    for _ in range(3):
        bucket.take()
    assert [] == clock.slept
    bucket.take()
    assert [pytest.approx(0.1)] == clock.slept


def test_bucket_does_not_drift_when_the_consumer_is_slow() -> None:
    """Time spent between takes counts: 0.05 s of work per event at 10/s still gives 10/s."""
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock, sleep=clock.sleep)
    for _ in range(101):
        bucket.take()
        clock.now += 0.05
    assert 10.05 == pytest.approx(clock.now - 100.0)


def test_bucket_refuses_a_rate_that_is_not_positive() -> None:
    """A rate of zero would wait for ever: refused at construction."""
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)


def test_paced_yields_everything_in_order_and_meters_the_rate() -> None:
    """``paced`` passes items through in order; the meter reports the rate they went at."""
    clock = FakeClock()
    meter = RateMeter(clock=clock)
    items = list(paced(range(21), TokenBucket(20, clock=clock, sleep=clock.sleep), meter))
    assert (list(range(21)), 21, pytest.approx(20.0), pytest.approx(1.0)) == (
        items,
        meter.count,
        meter.rate,
        meter.elapsed,
    )


def test_meter_of_one_event_reports_no_rate() -> None:
    """A single event has no interval, so no rate (not a division by zero)."""
    meter = RateMeter(clock=FakeClock())
    meter.tick()
    assert (1, 0.0) == (meter.count, meter.rate)
