"""runtime.closing.close_all: every part closed, in order, even after one failed."""

from __future__ import annotations

import structlog.testing

from runtime.closing import close_all


def test_every_part_is_closed_after_a_failure_which_is_logged_by_name() -> None:
    """The second part fails: the third is still closed, and the failure is a warning
    naming the part, not an exception."""
    closed: list[str] = []

    def fail() -> None:
        raise OSError("disk gone")

    parts = {"a": lambda: closed.append("a"), "b": fail, "c": lambda: closed.append("c")}
    with structlog.testing.capture_logs() as logs:
        close_all(parts, structlog.get_logger("test"), "role_close_failed")
    assert (["a", "c"], [("role_close_failed", "b", "disk gone")]) == (
        closed,
        [(e["event"], e["part"], e["error"]) for e in logs],
    )
