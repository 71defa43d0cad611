"""The drill's faults, each injected while traffic flows, and how long each one lasts.

A fault is a function of the running region and the timing; it returns what it did
(``FaultRecord``): when it began, when the system was whole again from the drill's side
(the node restarted and unfenced, the role ready, the receiver answering), and details
that show it hit what it meant to hit (the pid killed, events in flight, temporary files
of a batch in hand). Recovery as the partners see it — deliveries resuming — is measured
afterwards from the ledger and the local systems (``hxbus.drill.check``).
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hxbus import broker
from hxbus.broker.processes import send_signal
from hxbus.drill.ledger import Ledger
from hxbus.drill.region import Region
from runtime import open_admin, open_consumer
from runtime.kafka import TopicPartition
from schemas import BROADCAST_TOPICS, inbox_topic
from schemas.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Timing:
    """How long each fault holds, scaled from the issue's full durations by ``scale``."""

    scale: float
    #: The HTTP sink's read timeout the drill gives the bridge (None: the sink's 30 s).
    http_timeout: float | None

    @classmethod
    def for_minutes(cls, minutes: float) -> Timing:
        """Full durations when the run has room for them (10 minutes), else scaled down to
        fit; the restarts themselves (~90 s on a loaded two-core machine) do not scale."""
        scale = min(1.0, max(0.1, (minutes * 60 - FIXED_OVERHEAD_S) / SCALABLE_S))
        http_timeout = None if scale >= 1.0 else max(3.0, round(30 * scale, 1))
        return cls(scale, http_timeout)

    def s(self, full: float, floor: float = 2.0) -> float:
        return max(floor, full * self.scale)

    @property
    def broker_down_s(self) -> float:
        return self.s(30)

    @property
    def http_503_s(self) -> float:
        return self.s(60)

    @property
    def hang_s(self) -> float:
        """Past the sink's read timeout, by a third."""
        return (self.http_timeout or 30.0) * 4 / 3

    @property
    def cluster_down_s(self) -> float:
        return self.s(30)

    @property
    def freeze_s(self) -> float:
        return self.s(20)

    @property
    def gap_s(self) -> float:
        """Traffic without a fault after each one: recovery shows, the next starts clean."""
        return self.s(20, floor=10.0)


#: Seconds of the full schedule that scale (holds and gaps), and that do not (restarts).
SCALABLE_S = 30 * 3 + 60 + 40 + 30 + 20 + 9 * 20 + 20
FIXED_OVERHEAD_S = 90


@dataclass
class FaultRecord:
    """One fault as it happened."""

    name: str
    description: str
    started: float
    healed: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)


def _busiest_partition_leader(region: Region) -> tuple[int, str]:
    """(leader node id, ``topic/partition``) of the partition holding most messages."""
    topics = [*BROADCAST_TOPICS.values(), *(inbox_topic(a.id) for a in region.agreement.agencies)]
    admin = open_admin(region.settings)
    consumer = open_consumer(region.settings)
    try:
        leaders = {
            TopicPartition(t.name, p.partition): p.leader
            for t in admin.describe_topics(topics).values()
            for p in t.partitions
        }
        ends = consumer.end_offsets(list(leaders))
    finally:
        consumer.close()
        admin.close()
    busiest = max(ends, key=lambda tp: ends[tp])
    return leaders[busiest], f"{busiest.topic}/{busiest.partition}"


def active_controller(region: Region) -> int:
    """The KRaft quorum leader: the newest ``leaderId`` in the nodes' quorum-state files."""
    assert region.cluster is not None
    best: tuple[int, int] | None = None
    for node in region.cluster.nodes:
        path = node.data_dir / "__cluster_metadata-0" / "quorum-state"
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        epoch, leader = int(state.get("leaderEpoch", -1)), int(state.get("leaderId", -1))
        if leader >= 0 and (best is None or epoch > best[0]):
            best = (epoch, leader)
    if best is None:
        raise ConfigError("no node's quorum-state names a controller leader")
    return best[1]


def _kill_broker(region: Region, timing: Timing, node_id: int, record: FaultRecord) -> None:
    assert region.cluster is not None
    pid = broker.kill_node(region.cluster, node_id)
    record.detail.update(node=node_id, pid=pid, down_s=round(timing.broker_down_s, 1))
    time.sleep(timing.broker_down_s)
    broker.start_node(region.cluster, node_id)
    broker.wait_until_ready(region.cluster, timeout=300)


def kill_a_broker(region: Region, timing: Timing, record: FaultRecord) -> None:
    _kill_broker(region, timing, 2, record)


def kill_busiest_leader(region: Region, timing: Timing, record: FaultRecord) -> None:
    node_id, partition = _busiest_partition_leader(region)
    record.detail["partition"] = partition
    _kill_broker(region, timing, node_id, record)


def kill_controller(region: Region, timing: Timing, record: FaultRecord) -> None:
    _kill_broker(region, timing, active_controller(region), record)


def kill_a_bridge(region: Region, timing: Timing, record: FaultRecord) -> None:
    """kill -9 of the Jiangsu bridge while a batch is in hand: its inbox holds temporary
    files (written, not yet named) at the moment of the kill."""
    inbox = region.inbox("JS")
    deadline = time.monotonic() + 30.0
    in_batch: list[str] = []
    while time.monotonic() < deadline:
        in_batch = [p.name for p in inbox.glob(".hx-*.tmp")] if inbox.exists() else []
        if in_batch:
            break
        time.sleep(0.002)
    pid = region.kill("bridge-JS")
    record.detail.update(bridge="JS", pid=pid, files_of_batch_in_hand=len(in_batch))
    region.start_role("bridge-JS")


def kill_the_publisher(region: Region, timing: Timing, record: FaultRecord) -> None:
    """kill -9 of the publisher while events are in flight (intended, not acknowledged),
    then a new one, which sends those again first."""
    ledger = Ledger(region.ledger_path)
    try:
        deadline = time.monotonic() + 30.0
        in_flight = 0
        while time.monotonic() < deadline:
            in_flight = ledger.in_flight()
            if in_flight >= 2:
                break
            time.sleep(0.002)
        pid = region.kill("publisher")
        in_flight = ledger.in_flight()
    finally:
        ledger.close()
    record.detail.update(pid=pid, events_in_flight=in_flight)
    region.start_publisher()


def http_unavailable(region: Region, timing: Timing, record: FaultRecord) -> None:
    assert region.receiver is not None
    region.receiver.system.set_mode("unavailable")
    time.sleep(timing.http_503_s)
    region.receiver.system.set_mode("ok")
    record.detail.update(province="AH", answer=503, for_s=round(timing.http_503_s, 1))


def http_hang(region: Region, timing: Timing, record: FaultRecord) -> None:
    assert region.receiver is not None
    region.receiver.system.set_mode("hang")
    time.sleep(timing.hang_s)
    region.receiver.system.set_mode("ok")
    record.detail.update(
        province="AH", hang_s=round(timing.hang_s, 1), sink_timeout_s=timing.http_timeout or 30.0
    )


def stop_the_cluster(region: Region, timing: Timing, record: FaultRecord) -> None:
    assert region.cluster is not None
    stopped = broker.stop_cluster(region.cluster.root)
    record.detail.update(nodes=stopped, down_s=round(timing.cluster_down_s, 1))
    time.sleep(timing.cluster_down_s)
    region.cluster = broker.start_cluster(region.cluster.root, timeout=300)


def freeze_a_broker(region: Region, timing: Timing, record: FaultRecord) -> None:
    assert region.cluster is not None
    node_id = 1
    pid = broker.node_pid(region.cluster.node(node_id))
    if pid is None:
        raise ConfigError(f"node {node_id} does not run")
    send_signal(pid, signal.SIGSTOP)
    try:
        time.sleep(timing.freeze_s)
    finally:
        send_signal(pid, signal.SIGCONT)
    record.detail.update(node=node_id, pid=pid, frozen_s=round(timing.freeze_s, 1))


@dataclass(frozen=True, slots=True)
class Fault:
    name: str
    description: str
    inject: Callable[[Region, Timing, FaultRecord], None]


FAULTS: tuple[Fault, ...] = (
    Fault("broker", "kill -9 of a broker, restarted after 30 s", kill_a_broker),
    Fault("leader", "kill -9 of the leader of the busiest partition", kill_busiest_leader),
    Fault("controller", "kill -9 of the active controller", kill_controller),
    Fault("bridge", "kill -9 of a bridge in the middle of a batch, restarted", kill_a_bridge),
    Fault("publisher", "kill -9 of the publisher mid-batch; it sends again", kill_the_publisher),
    Fault("http-503", "the HTTP receiver answers 503 for 60 s", http_unavailable),
    Fault("http-hang", "the HTTP receiver hangs past the sink's timeout", http_hang),
    Fault("freeze", "a broker frozen with SIGSTOP for 20 s, then SIGCONT", freeze_a_broker),
    Fault("cluster", "the whole cluster stopped for 30 s and started again", stop_the_cluster),
)
FAULT_NAMES: tuple[str, ...] = tuple(f.name for f in FAULTS)


def select_faults(spec: str | None) -> list[Fault]:
    """The faults a ``--faults`` list names (comma-separated), in the schedule's order."""
    if not spec:
        return list(FAULTS)
    wanted = [w.strip() for w in spec.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in FAULT_NAMES]
    if not wanted:
        raise ConfigError("--faults: names no fault; choose from " + ", ".join(FAULT_NAMES))
    if unknown:
        names = ", ".join(repr(u) for u in unknown)
        raise ConfigError(
            f"--faults: {names} is not a fault; choose from " + ", ".join(FAULT_NAMES)
        )
    return [f for f in FAULTS if f.name in wanted]
