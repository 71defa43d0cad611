"""The sections of one benchmark run, in order, and the result they build.

Each section's figures go into the result under its name, with the seconds it took
(``section_seconds``); after each, the result file (``--out``) is rewritten
(``bench.result_file``), so a later stall or failure keeps what was measured. The first
section that fails ends the run: the file then says which one and why, on one line
(``failed``), and ``BenchFailed`` names it to the command line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.result_file import write_result
from schemas.errors import BenchFailed, HxError


class Sections:
    """Runs the sections in order: the result gains each one's figures and seconds, and
    the result file (if any) is rewritten after each; the first failure ends the run.
    ``complete`` stays false until the caller has added the last figures and saved."""

    def __init__(self, progress: Any, out: Path | None) -> None:
        self.progress = progress
        self._out = out
        self.result: dict[str, Any] = {"complete": False, "section_seconds": {}}

    def section(self, name: str, describe: str, measure: Callable[[], Any]) -> Any:
        """``measure()`` as the section ``name`` (``describe`` to the progress line); its
        value is kept and returned. A failure is saved, then raised as ``BenchFailed``
        naming the section; Ctrl-C (or the command's SIGTERM) is saved as ``interrupted``
        and re-raised."""
        self.progress(describe)
        began = time.monotonic()
        try:
            value = measure()
        except BaseException as exc:
            reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else _one_line(exc)
            self.result["section_seconds"][name] = round(time.monotonic() - began, 1)
            self.result["failed"] = {"section": name, "reason": reason}
            self.save()
            if isinstance(exc, Exception):
                raise BenchFailed(f"section {name} failed: {reason}") from exc
            raise
        self.result[name] = value
        self.result["section_seconds"][name] = round(time.monotonic() - began, 1)
        self.save()
        return value

    def save(self) -> None:
        """Write the result as it stands to the result file (none: nothing)."""
        if self._out is not None:
            write_result(self._out, self.result)


def _one_line(exc: BaseException) -> str:
    """The error's class and message on one line (no traceback), cut at 600 characters."""
    text = " ".join(str(exc).split()) or "(no message)"
    kind = "" if isinstance(exc, HxError) else f"{type(exc).__name__}: "
    return (kind + text)[:600]
