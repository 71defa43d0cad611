"""Helpers of the bridge end-to-end tests: a group started at the topics' ends, and
``hxbus bridge run`` as a real subprocess.

The agreement's topics (``hx.alerts.*``, ``hx.inbox.*``) are shared with every other test
and engineer on the broker. A new consumer group reads from the earliest offset, so a
bridge under test would deliver all their history as well. ``start_group_at_end`` commits
the group's offsets at the current end of each topic before the test publishes, so the
bridge reads what the test published and whatever arrives meanwhile; the tests compare
only the message ids they published.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consumers.offsets import start_group_at_end
from runtime import Settings

HXBUS = [sys.executable, "-m", "hxbus"]

__all__ = ["HXBUS", "Bridge", "finish", "inbox_ids", "start_bridge", "start_group_at_end"]


def bridge_env(settings: Settings) -> dict[str, str]:
    """The environment of a bridge subprocess: this test's broker and state directory."""
    return {
        **os.environ,
        "HX_BOOTSTRAP": settings.bootstrap,
        "HX_STATE_DIR": str(settings.state_dir),
        "HX_AGREEMENT": str(settings.agreement),
        "HX_METRICS_PORT": "0",
    }


@dataclass
class Bridge:
    """A running bridge subprocess and the file its log lines go to."""

    process: subprocess.Popen[bytes]
    log_path: Path


def start_bridge(settings: Settings, province: str, root: Path, group: str, *extra: str) -> Bridge:
    """``hxbus bridge run`` for ``province`` as a subprocess; JSON log lines into a file.

    A file, not a pipe: a test waiting for one bridge does not read another's pipe, and a
    full pipe would stall that bridge in the middle of a batch.
    """
    log_path = root.with_name(f"{root.name}.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                *HXBUS,
                "bridge",
                "run",
                "--province",
                province,
                "--root",
                str(root),
                "--group",
                group,
                *extra,
            ],
            env=bridge_env(settings),
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    return Bridge(process, log_path)


def finish(bridge: Bridge, timeout: float) -> list[dict[str, Any]]:
    """Wait for the bridge to stop by itself; its log lines, parsed. Fails on exit != 0."""
    process = bridge.process
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        tail = bridge.log_path.read_text(encoding="utf-8")[-3000:]
        raise AssertionError(f"bridge did not stop in {timeout} s:\n{tail}") from None
    text = bridge.log_path.read_text(encoding="utf-8")
    assert process.returncode == 0, text[-3000:]
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def delivered_ids(log_lines: list[dict[str, Any]]) -> list[str]:
    """Message ids of every ``bridge_message`` line with outcome delivered, repeats kept."""
    return [
        str(line["message_id"])
        for line in log_lines
        if line.get("event") == "bridge_message" and line.get("outcome") == "delivered"
    ]


def inbox_ids(root: Path) -> set[str]:
    """Message ids of the files in ``root/inbox`` (each file is ``<message id>.<ext>``)."""
    inbox = root / "inbox"
    if not inbox.is_dir():
        return set()
    return {p.name.split(".", 1)[0] for p in inbox.iterdir() if not p.name.startswith(".")}
