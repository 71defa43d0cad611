"""``hxbus kafka <tool>``: Kafka's own tools against the test broker, roles by client id.

A Jiangsu bridge and the request tracker run as real subprocesses; Kafka's
``kafka-consumer-groups --describe --all-groups``, run through ``hxbus kafka``, lists each
of their groups with the client id of its role (``hxbus-bridge-JS-1``, ``hxbus-tracker``).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e_bridge_support import HXBUS, bridge_env, finish, prepare_groups, start_bridge

from runtime import Settings
from schemas import Agreement

pytestmark = pytest.mark.broker


def _hxbus(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HXBUS, *args],
        env=bridge_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _client_ids(output: str, groups: set[str]) -> dict[str, set[str]]:
    """CLIENT-ID (the last column) of every partition line of ``groups``."""
    found: dict[str, set[str]] = {group: set() for group in groups}
    for line in output.splitlines():
        words = line.split()
        if words and words[0] in groups and words[-1] != "-":
            found[words[0]].add(words[-1])
    return found


def test_consumer_groups_lists_the_roles_by_client_id(
    settings: Settings,
    agreement: Agreement,
    unique_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    """consumer-groups --describe --all-groups names the bridge and tracker by client id."""
    bridge_group, tracker_group = unique_name("g-bridge"), unique_name("g-tracker")
    prepare_groups(settings, agreement, {"JS": bridge_group})
    bridge = start_bridge(settings, "JS", tmp_path / "jiangsu", bridge_group, "--no-outbound")
    tracker_log = (tmp_path / "tracker.log").open("wb")
    tracker = subprocess.Popen(
        [*HXBUS, "tracker", "run", "--group", tracker_group],
        env=bridge_env(settings),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=tracker_log,
    )
    groups = {bridge_group, tracker_group}
    try:
        deadline = time.monotonic() + 90
        while True:
            described = _hxbus(settings, "kafka", "consumer-groups", "--describe", "--all-groups")
            ids = _client_ids(described.stdout, groups)
            if all(ids.values()) or time.monotonic() > deadline:
                break
            time.sleep(1)
    finally:
        tracker.send_signal(signal.SIGTERM)
        bridge.process.send_signal(signal.SIGTERM)
        tracker.wait(timeout=60)
        tracker_log.close()
        finish(bridge, timeout=60)
    assert {bridge_group: {"hxbus-bridge-JS-1"}, tracker_group: {"hxbus-tracker"}} == ids, (
        described.stdout[-3000:] + described.stderr[-2000:]
    )
    assert 0 == described.returncode
