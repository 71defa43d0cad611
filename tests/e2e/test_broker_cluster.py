"""A three-node cluster through the command line: start, status, replicated writes, a node
crash and its return, stop, and nothing left running."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hxbus import broker
from runtime import Settings, open_admin, open_producer
from runtime.kafka import NewTopic

pytestmark = pytest.mark.slow


def _free_port_base() -> int:
    """A client port P such that P..P+5 are all free (three nodes, two ports each).

    Below Linux's ephemeral range (32768–60999 by default): a port free when checked there
    can be taken by any outgoing connection before the broker binds it.
    """
    for _ in range(200):
        base = random.randrange(25000, 32700, 2)
        if not any(broker.port_in_use(port) for port in range(base, base + 6)):
            return base
    raise AssertionError("no six free consecutive ports found")


def _hxbus(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HX_STATE_DIR": str(state_dir)}
    env.pop("HX_BOOTSTRAP", None)
    return subprocess.run(
        [sys.executable, "-m", "hxbus", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _processes_mentioning(text: str) -> list[int]:
    """Pids of processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline and int(entry.name) != os.getpid():
                found.append(int(entry.name))
    return found


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    """A state dir for the cluster; whatever still runs there is stopped afterwards."""
    state = tmp_path / "state"
    yield state
    broker.stop_cluster(state / "broker")


@pytest.mark.timeout(900)  # three JVM starts and a restart, on a shared two-core machine
def test_three_node_cluster_lifecycle(state_dir: Path) -> None:
    """start --nodes 3, status shows three live nodes, RF 3 acks=all writes succeed even
    with one node killed, the node comes back, and stop leaves no Java process behind."""
    port = _free_port_base()
    started = _hxbus(state_dir, "broker", "start", "--nodes", "3", "--port", str(port))
    expected_start = (0, f"bootstrap 127.0.0.1:{port}")
    actual_start = (started.returncode, started.stdout.strip().splitlines()[-1])
    assert expected_start == actual_start, started.stderr

    status = _hxbus(state_dir, "broker", "status")
    rows = [line.split() for line in status.stdout.splitlines()[1:4]]
    expected_rows = (0, [(i, True, port + 2 * (i - 1), "yes") for i in (1, 2, 3)])
    actual_rows = (
        status.returncode,
        [(int(r[0]), r[1].isdigit(), int(r[2]), r[3]) for r in rows],
    )
    assert expected_rows == actual_rows

    settings = Settings(bootstrap=f"127.0.0.1:{port}", sasl_username=None)
    admin = open_admin(settings)
    try:
        admin.create_topics([NewTopic("rf3", 3, 3)])
        described = admin.describe_topics(["rf3"])["rf3"].partitions
    finally:
        admin.close()
    all_in_sync = [[1, 2, 3]] * 3
    assert all_in_sync == [sorted(p.in_sync) for p in described]

    cluster = broker.load_cluster(state_dir.resolve() / "broker")
    assert cluster is not None
    producer = open_producer(settings)
    try:
        producer.send("rf3", b"before").get(30)
        broker.kill_node(cluster, 3)
        down = _hxbus(state_dir, "broker", "status")
        futures = [producer.send("rf3", f"m{i}".encode()) for i in range(200)]
        producer.flush(60)
        acked = sum(1 for f in futures if f.get(30) is not None)
    finally:
        producer.close()
    broker.start_node(cluster, 3)
    broker.wait_until_ready(cluster, timeout=180)
    up = _hxbus(state_dir, "broker", "status")
    expected_crash = (3, "no", 200, 0)
    assert expected_crash == (
        down.returncode,
        down.stdout.splitlines()[3].split()[-1],
        acked,
        up.returncode,
    )

    stopped = _hxbus(state_dir, "broker", "stop")
    after = _hxbus(state_dir, "broker", "status")
    expected = (0, "stopped node(s) 1, 2, 3", 3, [])
    assert expected == (
        stopped.returncode,
        stopped.stdout.strip(),
        after.returncode,
        _processes_mentioning(str(state_dir.resolve())),
    )
