"""Starting, watching and stopping a local cluster as a whole (and one node, for the
failure tests): what ``hxbus broker start|status|stop`` runs."""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path

from hxbus.broker.jars import ensure_jars
from hxbus.broker.layout import (
    DEFAULT_PORT,
    Cluster,
    Node,
    check_layout,
    load_cluster,
    new_cluster_id,
    plan_cluster,
)
from hxbus.broker.processes import (
    check_ports_free,
    format_storage,
    node_pid,
    port_in_use,
    send_signal,
    spawn,
    wait_dead,
    write_node_files,
)
from hxbus.broker.security import admin_settings, ensure_secure_files
from runtime import open_admin
from runtime.kafka import AdminOptions
from schemas.errors import BrokerError, BrokerUnavailable, ConfigError


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """One node as ``hxbus broker status`` lists it."""

    node_id: int
    pid: int | None
    broker_port: int
    alive: bool


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    """The recorded cluster and the liveness of each of its nodes."""

    cluster: Cluster
    nodes: tuple[NodeStatus, ...]

    @property
    def running(self) -> bool:
        """Every node's process is alive."""
        return all(n.alive for n in self.nodes)


def cluster_status(root: Path) -> ClusterStatus | None:
    """Each node's pid and liveness; None when no cluster was ever started under ``root``."""
    cluster = load_cluster(root)
    if cluster is None:
        return None
    statuses = []
    for node in cluster.nodes:
        pid = node_pid(node)
        statuses.append(NodeStatus(node.node_id, pid, node.broker_port, pid is not None))
    return ClusterStatus(cluster, tuple(statuses))


def start_node(cluster: Cluster, node_id: int) -> int:
    """Start one node of an existing cluster (no-op when it runs); returns its pid.

    Does not wait for it to join: ``wait_until_ready`` does.
    """
    node = cluster.node(node_id)
    pid = node_pid(node)
    if pid is not None:
        return pid
    check_ports_free([node])
    write_node_files(cluster, node)
    format_storage(cluster, [node])
    return spawn(node)


def _last_error(node: Node) -> str:
    try:
        lines = node.log_file.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    errors = [line for line in lines if " ERROR " in line or "Exception" in line]
    return (errors or lines or ["(no log)"])[-1][:500]


def _unfenced_brokers(cluster: Cluster) -> set[int]:
    settings = admin_settings(cluster)
    admin = open_admin(settings, AdminOptions(bootstrap_timeout_ms=3000, request_timeout_ms=5000))
    try:
        described = admin.describe_cluster()
    finally:
        admin.close()
    return {b.node_id for b in described if not b.fenced}


def wait_until_ready(cluster: Cluster, timeout: float = 180.0) -> None:
    """Block until every node answers metadata requests as an unfenced broker.

    Fails early, naming the node and its last log error, if a JVM exits meanwhile.
    """
    wanted = {n.node_id for n in cluster.nodes}
    deadline = time.monotonic() + timeout
    seen: set[int] = set()
    while time.monotonic() < deadline:
        for node in cluster.nodes:
            if node_pid(node) is None:
                raise BrokerUnavailable(
                    f"node {node.node_id} exited during start-up; {node.log_file}: "
                    f"{_last_error(node)}"
                )
        if not port_in_use(cluster.nodes[0].broker_port):
            time.sleep(0.3)
            continue
        try:
            seen = _unfenced_brokers(cluster)
        except BrokerError:
            seen = set()
        if wanted <= seen:
            return
        time.sleep(0.5)
    missing = ", ".join(str(i) for i in sorted(wanted - seen))
    raise BrokerUnavailable(
        f"cluster at {cluster.bootstrap} not ready after {timeout:.0f} s (nodes not up: "
        f"{missing}); see server.log under {cluster.root}"
    )


def start_cluster(
    root: Path,
    *,
    nodes: int | None = None,
    port: int | None = None,
    timeout: float = 180.0,
    secure: bool | None = None,
    plain_port: int | None = None,
    tls: bool | None = None,
) -> Cluster:
    """Start the cluster recorded under ``root`` (or lay out a new one) and wait until
    every node serves; nodes already running are left alone.

    ``nodes``/``port`` default to the recorded cluster's, else 1 node on 9092. Asking for a
    different layout than the recorded one is a ConfigError: its data would be lost.
    ``secure`` (SASL/SCRAM + ACLs, see ``broker.security``), ``plain_port`` and ``tls``
    (SASL_SSL with a local CA, see ``broker.tls``) are fixed when the cluster is made;
    None keeps the recorded choice.
    """
    root = root.resolve()
    cluster = load_cluster(root)
    if cluster is None:
        cluster = plan_cluster(
            root, nodes=nodes or 1, port=port or DEFAULT_PORT, cluster_id=new_cluster_id()
        )
        if secure:
            cluster = replace(cluster, secure=True, plain_port=plain_port, tls=bool(tls))
        elif plain_port is not None:
            raise ConfigError("--plain-port: only with --secure (a plain cluster is all plain)")
        elif tls:
            raise ConfigError("--tls: only with --secure (TLS wraps the SASL listeners)")
    check_layout(cluster, nodes=nodes, port=port)
    if (
        (secure is not None and secure != cluster.secure)
        or (plain_port is not None and plain_port != cluster.plain_port)
        or (tls is not None and tls != cluster.tls)
    ):
        kind = ("TLS-" if cluster.tls else "") + ("secured" if cluster.secure else "plain")
        raise ConfigError(
            f"{root} holds a {kind} cluster (plain port {cluster.plain_port}); its storage "
            f"was formatted that way: stop it and remove {root} to make another"
        )
    stopped = [n for n in cluster.nodes if node_pid(n) is None]
    if not stopped:
        return cluster
    check_ports_free(stopped)
    for node in stopped:
        extra = cluster.plain_port_of(node)
        if extra is not None and port_in_use(extra):
            raise ConfigError(f"--plain-port {extra} (node {node.node_id}) is already in use")
    if cluster.secure:
        ensure_secure_files(cluster)
    ensure_jars()
    root.mkdir(parents=True, exist_ok=True)
    cluster.state_file.write_text(cluster.to_json())
    for node in stopped:
        write_node_files(cluster, node)
    format_storage(cluster, stopped)
    for node in stopped:
        spawn(node)
    try:
        wait_until_ready(cluster, timeout)
    except BrokerError:
        stop_cluster(root)
        raise
    return cluster


def kill_node(cluster: Cluster, node_id: int, sig: int = signal.SIGKILL) -> int | None:
    """Send ``sig`` to one node's JVM (default SIGKILL: a crash); returns the pid signalled.

    After SIGKILL it waits until the process is gone, so a test can rely on it.
    """
    node = cluster.node(node_id)
    pid = node_pid(node)
    if pid is None:
        return None
    send_signal(pid, sig)
    if sig == signal.SIGKILL:
        wait_dead({node_id: pid}, 10.0)
    return pid


def stop_cluster(root: Path, *, timeout: float = 30.0) -> list[int]:
    """Stop every node cleanly (SIGTERM, then SIGKILL after ``timeout``); returns the ids
    of the nodes that were running. Leaves no JVM behind."""
    cluster = load_cluster(root.resolve())
    if cluster is None:
        return []
    running = {n.node_id: pid for n in cluster.nodes if (pid := node_pid(n)) is not None}
    for pid in running.values():
        send_signal(pid, signal.SIGTERM)
    stubborn = wait_dead(running, timeout)
    for pid in stubborn.values():
        send_signal(pid, signal.SIGKILL)
    left = wait_dead(stubborn, 10.0)
    if left:
        raise BrokerError(f"nodes {sorted(left)} did not exit (pids {sorted(left.values())})")
    for node in cluster.nodes:
        node.pid_file.unlink(missing_ok=True)
    return sorted(running)
