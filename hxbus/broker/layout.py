"""Where a local Kafka cluster lives and how each node is configured (no processes here).

A cluster is recorded in ``<state_dir>/broker/cluster.json``; each node has its own
directory with its generated ``server.properties``, data dir, log and pid file. Ports: node
i (0-based) listens for clients on ``port + 2*i`` and for the controller quorum on
``port + 2*i + 1`` (9092/9093, 9094/9095, 9096/9097).
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from runtime import Settings
from schemas.errors import ConfigError

HOST = "127.0.0.1"
DEFAULT_PORT = 9092


@dataclass(frozen=True, slots=True)
class Node:
    """One combined broker+controller node and where its files live."""

    node_id: int
    broker_port: int
    controller_port: int
    directory: Path

    @property
    def properties_file(self) -> Path:
        return self.directory / "server.properties"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def log_file(self) -> Path:
        return self.directory / "server.log"

    @property
    def pid_file(self) -> Path:
        return self.directory / "kafka.pid"


@dataclass(frozen=True, slots=True)
class Cluster:
    """A local cluster: its id, its nodes, and the state directory that holds it."""

    root: Path
    cluster_id: str
    nodes: tuple[Node, ...]
    #: SASL/SCRAM + ACLs (``hxbus broker start --secure``, see ``broker.security``).
    secure: bool = False
    #: A secured cluster's extra PLAINTEXT port of node 1 (node i: + i - 1), if asked for.
    plain_port: int | None = None
    #: A secured cluster's SASL listeners run inside TLS (``--tls``, see ``broker.tls``).
    tls: bool = False

    def plain_port_of(self, node: Node) -> int | None:
        return None if self.plain_port is None else self.plain_port + node.node_id - 1

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.nodes[0].broker_port}"

    @property
    def state_file(self) -> Path:
        return self.root / "cluster.json"

    def node(self, node_id: int) -> Node:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise ConfigError(f"the cluster in {self.root} has no node {node_id}")

    def to_json(self) -> str:
        nodes = [
            {"id": n.node_id, "broker_port": n.broker_port, "controller_port": n.controller_port}
            for n in self.nodes
        ]
        doc: dict[str, object] = {
            "cluster_id": self.cluster_id,
            "bootstrap": self.bootstrap,
            "nodes": nodes,
        }
        if self.secure:
            doc["secure"] = True
            doc["plain_port"] = self.plain_port
        if self.tls:
            doc["tls"] = True
        return json.dumps(doc, indent=2) + "\n"


def broker_root(settings: Settings) -> Path:
    """Where the local cluster keeps its files: ``<state_dir>/broker``, absolute."""
    return (settings.state_dir / "broker").resolve()


def bootstrap_port(bootstrap: str) -> int:
    """The port of the first ``host:port`` of a bootstrap list (HX_BOOTSTRAP)."""
    first = bootstrap.split(",")[0].strip()
    try:
        return int(first.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        raise ConfigError(f"bootstrap {bootstrap!r}: expected host:port") from None


def new_cluster_id() -> str:
    """A Kafka cluster id: URL-safe base64 of 16 random bytes, unpadded, not starting
    with '-' (Kafka's own ``Uuid.randomUuid`` rule, so it never reads as an option)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


def plan_cluster(root: Path, *, nodes: int, port: int, cluster_id: str) -> Cluster:
    """The layout of a new cluster: node ids 1..n, ports ``port + 2i`` and ``port + 2i + 1``."""
    if nodes < 1:
        raise ConfigError(f"--nodes {nodes}: a cluster needs at least one node")
    if not 1024 <= port <= 65535 - 2 * nodes:
        raise ConfigError(f"--port {port}: choose a port between 1024 and {65535 - 2 * nodes}")
    members = tuple(
        Node(i + 1, port + 2 * i, port + 2 * i + 1, root / f"node-{i + 1}") for i in range(nodes)
    )
    return Cluster(root=root, cluster_id=cluster_id, nodes=members)


def server_properties(cluster: Cluster, node: Node) -> dict[str, str]:
    """The server.properties of one node, as an ordered dict (rendered by ``render_properties``).

    Replication follows the cluster size: one node holds every internal topic alone;
    three nodes replicate them 3 ways with min ISR 2, as production does. A later
    ``--secure`` option adds its SASL listeners and authorizer keys by updating this dict.
    """
    size = len(cluster.nodes)
    replication = min(size, 3)
    min_isr = min(2, replication)
    voters = ",".join(f"{n.node_id}@{HOST}:{n.controller_port}" for n in cluster.nodes)
    return {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://{HOST}:{node.broker_port},CONTROLLER://{HOST}:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{node.broker_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(node.data_dir),
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.partitions": "1",
        "default.replication.factor": str(replication),
        "min.insync.replicas": str(min_isr),
        "offsets.topic.replication.factor": str(replication),
        "offsets.topic.num.partitions": "3",
        "transaction.state.log.replication.factor": str(replication),
        "transaction.state.log.min.isr": str(min_isr),
        "transaction.state.log.num.partitions": "3",
        "share.coordinator.state.topic.replication.factor": str(replication),
        "share.coordinator.state.topic.min.isr": str(min_isr),
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "unclean.leader.election.enable": "false",
    }


def render_properties(properties: dict[str, str]) -> str:
    lines = [
        "# Written by hxbus broker start (hxbus/broker/layout.py); regenerated on every start."
    ]
    lines += [f"{key}={value}" for key, value in properties.items()]
    return "\n".join(lines) + "\n"


def load_cluster(root: Path) -> Cluster | None:
    """The cluster recorded in ``root/cluster.json``, or None when there is none."""
    path = root / "cluster.json"
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        nodes = tuple(
            Node(n["id"], n["broker_port"], n["controller_port"], root / f"node-{n['id']}")
            for n in doc["nodes"]
        )
        return Cluster(
            root=root,
            cluster_id=doc["cluster_id"],
            nodes=nodes,
            secure=bool(doc.get("secure", False)),
            plain_port=doc.get("plain_port"),
            tls=bool(doc.get("tls", False)),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a cluster description ({exc}); remove {root}") from exc


def check_layout(cluster: Cluster, *, nodes: int | None, port: int | None) -> None:
    """ConfigError when asked for another node count or port than the recorded cluster's
    (making a new one would mean throwing its data away: the operator decides that)."""
    first_port = cluster.nodes[0].broker_port
    if (nodes is not None and nodes != len(cluster.nodes)) or (
        port is not None and port != first_port
    ):
        raise ConfigError(
            f"{cluster.root} holds a {len(cluster.nodes)}-node cluster on port {first_port}; "
            f"stop it and remove {cluster.root} to make another, or use another HX_STATE_DIR"
        )
