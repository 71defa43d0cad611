"""A real Apache Kafka broker (KRaft) from Maven jars, for development, tests and CI.

An ops tool, so it lives beside the command line. ``deploy/kafka/pom.xml`` pins the broker
and its one logging binding; the jars land in ``deploy/kafka/lib/`` (``jars``). Each node
is one combined broker+controller JVM on 127.0.0.1 with its files under
``<state_dir>/broker/`` (``layout``)::

    cluster.json                 cluster id, nodes, ports, bootstrap
    node-<id>/server.properties  data/  server.log  stdout.log  kafka.pid

``processes`` starts and signals the JVMs; ``cluster`` is what the CLI runs
(``start_cluster``, ``cluster_status``, ``stop_cluster``) and what failure tests use
(``kill_node``, ``start_node``, ``wait_until_ready``). ``security`` adds what a secured
cluster (``--secure``: SASL/SCRAM, StandardAuthorizer, super-user admin) changes;
``tls`` makes the local CA and broker certificate of ``--secure --tls`` (SASL_SSL).
"""

from hxbus.broker.cluster import (
    ClusterStatus,
    NodeStatus,
    cluster_status,
    kill_node,
    start_cluster,
    start_node,
    stop_cluster,
    wait_until_ready,
)
from hxbus.broker.jars import ensure_jars, fetch_jars, jars_ready
from hxbus.broker.layout import (
    DEFAULT_PORT,
    HOST,
    Cluster,
    Node,
    bootstrap_port,
    broker_root,
    check_layout,
    load_cluster,
    new_cluster_id,
    plan_cluster,
    render_properties,
    server_properties,
)
from hxbus.broker.processes import check_ports_free, node_pid, port_in_use
from hxbus.broker.security import (
    ADMIN_USER,
    MECHANISM,
    admin_password_file,
    admin_settings,
    ca_file,
    ensure_admin_password,
    security_protocol,
)
from hxbus.broker.tls import TlsFiles, ensure_tls, tls_files

__all__ = [
    "ADMIN_USER",
    "DEFAULT_PORT",
    "HOST",
    "MECHANISM",
    "Cluster",
    "ClusterStatus",
    "Node",
    "NodeStatus",
    "TlsFiles",
    "admin_password_file",
    "admin_settings",
    "bootstrap_port",
    "broker_root",
    "ca_file",
    "check_layout",
    "check_ports_free",
    "cluster_status",
    "ensure_admin_password",
    "ensure_jars",
    "ensure_tls",
    "fetch_jars",
    "jars_ready",
    "kill_node",
    "load_cluster",
    "new_cluster_id",
    "node_pid",
    "plan_cluster",
    "port_in_use",
    "render_properties",
    "security_protocol",
    "server_properties",
    "start_cluster",
    "start_node",
    "stop_cluster",
    "tls_files",
    "wait_until_ready",
]
