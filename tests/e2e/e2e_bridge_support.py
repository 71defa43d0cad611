"""Helpers of the bridge end-to-end tests: a group started at the topics' ends, and
``hxbus bridge run`` as a real subprocess, the alerts a test publishes, and stopping.

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
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bridge import bridge_topics
from consumers.offsets import start_group_at_end
from producers import Publisher, PublishOutcome, SyntheticTraffic
from runtime import Settings, run_provisioning
from schemas import Agreement, ExchangeEvent

HXBUS = [sys.executable, "-m", "hxbus"]
#: The event types of an alert.
ALERT_TYPES = ("PersonAlert", "VehicleAlert")

__all__ = [
    "ALERT_TYPES",
    "HXBUS",
    "Bridge",
    "finish",
    "inbox_ids",
    "prepare_groups",
    "publish_all",
    "shared_alerts",
    "start_bridge",
    "start_group_at_end",
    "stop_when",
]


def prepare_groups(settings: Settings, agreement: Agreement, groups: Mapping[str, str]) -> None:
    """The agreement's topics provisioned, and each province's group (``{"JS": group}``)
    started at the end of its bridge's topics, before the test publishes."""
    run_provisioning(settings, agreement)
    for province, group in groups.items():
        start_group_at_end(settings, group, bridge_topics(agreement, province))


def shared_alerts(
    agreement: Agreement, province: str, event_types: Sequence[str] = ALERT_TYPES
) -> Iterator[ExchangeEvent]:
    """Fresh synthetic alerts issued by an agency of ``province`` and shared with every
    partner: every other province receives each (and a format without a share_with list
    carries them whole)."""
    own = {a.id for a in agreement.agencies_of(province)}
    traffic = SyntheticTraffic(agreement, seed=random.randrange(2**31), start=datetime.now(UTC))
    for event in traffic:
        if (
            event.event_type in event_types
            and event.envelope.source in own
            and event.record["handling"] == "SHARE_ALL_PARTNERS"
        ):
            yield event


def publish_all(
    settings: Settings, agreement: Agreement, events: Iterable[ExchangeEvent]
) -> list[PublishOutcome]:
    """Publish ``events`` through the Publisher; every one must be acknowledged."""
    with Publisher(settings, agreement) as publisher:
        outcomes = list(publisher.publish_many(events))
    assert [] == [o.error for o in outcomes if not o.ok]  # noqa: SIM300 - expected == actual
    return outcomes


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


def stop_when(
    done: Callable[[], bool],
    bridges: Sequence[Bridge],
    within_s: float = 45,
    every_s: float = 0.3,
) -> list[list[dict[str, Any]]]:
    """Poll ``done`` until true (or ``within_s`` passed: the test's assertions then say what
    is missing), then stop every bridge with SIGTERM, as a service manager does, and
    ``finish`` each; their log lines, in the order of ``bridges``."""
    deadline = time.monotonic() + within_s
    while not done() and time.monotonic() < deadline:
        time.sleep(every_s)
    for bridge in bridges:
        bridge.process.send_signal(signal.SIGTERM)
    return [finish(bridge, timeout=30) for bridge in bridges]


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
