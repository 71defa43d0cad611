"""runtime.idle: a role is idle once it reads and its progress stood still, counted from
its first assignment, never from start-up."""

from __future__ import annotations

import threading

from runtime.idle import IdleClock, IdleWatch


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_not_idle_before_the_first_assignment_however_long() -> None:
    """A role still joining its group is not idle, however long the join takes."""
    clock = Clock()
    idle = IdleClock(5.0, clock)
    answers = []
    for _ in range(3):
        clock.now += 10
        answers.append(idle.expired(reading=False, progress=0))
    assert [False, False, False] == answers


def test_idle_counts_from_the_first_assignment() -> None:
    """Joined at t=60 after a slow join: idle 5 s later, not at start-up + 5 s."""
    clock = Clock()
    idle = IdleClock(5.0, clock)
    clock.now += 60
    at_join = idle.expired(reading=False, progress=0)
    clock.now += 0.1
    first_read = idle.expired(reading=True, progress=0)
    clock.now += 4.8
    before = idle.expired(reading=True, progress=0)
    clock.now += 0.2
    after = idle.expired(reading=True, progress=0)
    assert (False, False, False, True) == (at_join, first_read, before, after)


def test_progress_busy_and_rebalance_start_the_count_again() -> None:
    """New progress, a waiting retry, and a rebalance each restart the 5 s."""
    clock = Clock()
    idle = IdleClock(5.0, clock)
    idle.expired(reading=True, progress=0)
    answers = []
    for reading, progress, busy in [(True, 1, False), (True, 1, True), (False, 1, False)]:
        clock.now += 4
        answers.append(idle.expired(reading=reading, progress=progress, busy=busy))
    clock.now += 4
    answers.append(idle.expired(reading=True, progress=1))
    clock.now += 5
    answers.append(idle.expired(reading=True, progress=1))
    assert [False, False, False, False, True] == answers


def test_no_seconds_is_never_idle() -> None:
    """Without a limit a role runs until stopped."""
    clock = Clock()
    idle = IdleClock(None, clock)
    idle.expired(reading=True, progress=0)
    clock.now += 1e6
    assert False is idle.expired(reading=True, progress=0)


def test_watch_stops_the_role_once_idle() -> None:
    """IdleWatch calls stop from its thread once the reading role stood still."""
    stopped = threading.Event()
    watch = IdleWatch(0.1, stopped.set, reading=lambda: True, progress=lambda: 7, poll_s=0.02)
    watch.start()
    try:
        stopped.wait(30)
    finally:
        watch.close()
    assert True is stopped.is_set()
