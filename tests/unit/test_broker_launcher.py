"""The broker launcher's pure parts: layout, server.properties, cluster.json, port checks."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from hxbus import broker
from schemas.errors import ConfigError

ROOT = Path("/srv/hx/broker")


def _properties(nodes: int, node_id: int = 1, port: int = 9092) -> dict[str, str]:
    cluster = broker.plan_cluster(ROOT, nodes=nodes, port=port, cluster_id="abc")
    return broker.server_properties(cluster, cluster.node(node_id))


def test_single_node_listens_on_loopback_with_explicit_host() -> None:
    """One node: client and controller listeners on 127.0.0.1:9092/9093, advertised as such."""
    props = _properties(1)
    expected = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "listeners": "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
        "advertised.listeners": "PLAINTEXT://127.0.0.1:9092",
        "controller.quorum.voters": "1@127.0.0.1:9093",
        "log.dirs": "/srv/hx/broker/node-1/data",
    }
    assert expected == {key: props[key] for key in expected}


def test_single_node_replicates_internal_topics_once() -> None:
    """One node: every internal topic has replication 1 and min ISR 1."""
    props = _properties(1)
    expected = {
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
    }
    assert expected == {key: props[key] for key in expected}


def test_development_defaults_suit_a_small_machine() -> None:
    """Few threads and offset partitions, no rebalance delay, no auto-created topics."""
    props = _properties(1)
    expected = {
        "num.network.threads": "2",
        "num.io.threads": "4",
        "offsets.topic.num.partitions": "3",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
    }
    assert expected == {key: props[key] for key in expected}


def test_three_nodes_share_a_static_quorum_on_distinct_ports() -> None:
    """Three nodes: ports 9092/9094/9096, controllers 9093/9095/9097, one voter list."""
    voters = "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097"
    actual = [
        (p["listeners"], p["controller.quorum.voters"], p["log.dirs"])
        for p in (_properties(3, node_id) for node_id in (1, 2, 3))
    ]
    expected = [
        (
            f"PLAINTEXT://127.0.0.1:{9090 + 2 * i},CONTROLLER://127.0.0.1:{9091 + 2 * i}",
            voters,
            f"/srv/hx/broker/node-{i}/data",
        )
        for i in (1, 2, 3)
    ]
    assert expected == actual


def test_three_nodes_replicate_like_production() -> None:
    """Three nodes: replication 3 and min ISR 2, internal topics included."""
    props = _properties(3, 2)
    expected = {
        "default.replication.factor": "3",
        "min.insync.replicas": "2",
        "offsets.topic.replication.factor": "3",
        "transaction.state.log.replication.factor": "3",
        "transaction.state.log.min.isr": "2",
    }
    assert expected == {key: props[key] for key in expected}


def test_rendered_properties_are_key_value_lines_after_a_comment() -> None:
    """render_properties writes a comment line, then one key=value line per entry."""
    text = broker.render_properties({"a.b": "1", "c": "x,y"})
    expected = ["a.b=1", "c=x,y"]
    assert expected == text.splitlines()[1:]


def test_cluster_json_round_trips(tmp_path: Path) -> None:
    """cluster.json written by a cluster loads back into the same cluster."""
    cluster = broker.plan_cluster(tmp_path, nodes=3, port=29092, cluster_id="Zm9vYmFy")
    cluster.state_file.write_text(cluster.to_json())
    assert cluster == broker.load_cluster(tmp_path)


def test_new_cluster_id_is_kafka_shaped() -> None:
    """A cluster id is 22 URL-safe base64 characters that do not start with '-'."""
    ids = [broker.new_cluster_id() for _ in range(200)]
    malformed: list[str] = []
    assert malformed == [i for i in ids if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", i)]


@pytest.mark.parametrize(
    ("bootstrap", "port"),
    [("127.0.0.1:9092", 9092), ("localhost:29092,127.0.0.1:29094", 29092)],
)
def test_bootstrap_port_is_the_first_servers_port(bootstrap: str, port: int) -> None:
    """The cluster's first node takes the port of HX_BOOTSTRAP's first server."""
    assert port == broker.bootstrap_port(bootstrap)


def test_bootstrap_without_port_is_a_config_error() -> None:
    """A bootstrap without a port is refused with a message naming it."""
    with pytest.raises(ConfigError) as caught:
        broker.bootstrap_port("kafka-host")
    expected = "bootstrap 'kafka-host': expected host:port"
    assert expected == str(caught.value)


def test_taken_port_is_named_in_the_error() -> None:
    """A port another process listens on stops the start, naming the port and the node."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        node = broker.Node(2, taken, taken + 1, ROOT / "node-2")
        with pytest.raises(ConfigError) as caught:
            broker.check_ports_free([node])
    expected = (
        f"port {taken} on 127.0.0.1 (node 2 client port) is already in use by another "
        "process: stop it, or start on other ports with --port (or HX_BOOTSTRAP)"
    )
    assert expected == str(caught.value)


def test_another_layout_than_the_recorded_cluster_is_refused(tmp_path: Path) -> None:
    """Asking a 1-node state dir for 3 nodes is refused: its data would be lost."""
    cluster = broker.plan_cluster(tmp_path, nodes=1, port=9092, cluster_id="abc")
    with pytest.raises(ConfigError) as caught:
        broker.check_layout(cluster, nodes=3, port=None)
    assert str(caught.value).startswith(f"{tmp_path} holds a 1-node cluster on port 9092")


def test_status_of_a_never_started_cluster_is_none(tmp_path: Path) -> None:
    """No cluster.json under the state dir: there is no cluster to report."""
    assert None is broker.cluster_status(tmp_path)


def test_status_with_a_stale_pid_file_reports_the_node_dead(tmp_path: Path) -> None:
    """A pid file naming a process that is not this node's JVM counts as not running."""
    cluster = broker.plan_cluster(tmp_path, nodes=1, port=29092, cluster_id="abc")
    cluster.state_file.write_text(cluster.to_json())
    node = cluster.node(1)
    node.directory.mkdir()
    node.pid_file.write_text("1\n")  # init: alive, but not a Kafka node
    status = broker.cluster_status(tmp_path)
    assert status is not None
    expected = (False, [(1, None, 29092, False)])
    assert expected == (
        status.running,
        [(n.node_id, n.pid, n.broker_port, n.alive) for n in status.nodes],
    )
