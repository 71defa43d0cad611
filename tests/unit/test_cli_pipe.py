"""The command line in a pipe whose reader is gone (``hxbus … | head``): no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_closed_pipe_ends_the_command_quietly_with_141() -> None:
    """stdout's reader closed before the first line: exit 141, nothing on stderr."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written: EPIPE on first write
    try:
        done = subprocess.run(
            [sys.executable, "-m", "hxbus", "schemas", "list"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert (141, "") == (done.returncode, done.stderr)
