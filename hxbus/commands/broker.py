"""``hxbus broker fetch|start|status|stop``: a local Kafka cluster from Maven jars.

The cluster's files live under ``<HX_STATE_DIR>/broker``; its first node listens on the
port of ``HX_BOOTSTRAP`` (127.0.0.1:9092 by default) unless ``--port`` says otherwise.
"""

from __future__ import annotations

import argparse
from typing import Any

from hxbus import broker
from hxbus.exit_codes import ExitCode
from runtime import Settings

#: Exit status of ``status`` when the cluster is not (fully) running.
NOT_RUNNING = ExitCode.UNAVAILABLE


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "broker",
        help="run a local Kafka broker (KRaft) from Maven jars",
        description=(
            "A local Kafka cluster (KRaft, combined broker+controller nodes on 127.0.0.1) "
            "from the Maven jars of HX_KAFKA_DIR (default: the checkout's deploy/kafka). Its "
            "files live under "
            "$HX_STATE_DIR/broker; node 1 listens on the port of HX_BOOTSTRAP "
            "(127.0.0.1:9092) unless --port says otherwise; node i on port + 2(i-1)."
        ),
    )
    actions = parser.add_subparsers(dest="broker_action", metavar="ACTION", required=True)

    fetch = actions.add_parser(
        "fetch", help="download the Kafka jars into HX_KAFKA_DIR/lib (deploy/kafka/lib)"
    )
    fetch.add_argument("--force", action="store_true", help="fetch even if the jars are there")
    fetch.set_defaults(handler=_fetch)

    start = actions.add_parser("start", help="start the cluster and wait until it serves")
    start.add_argument("--nodes", type=int, default=None, help="number of nodes (default 1)")
    start.add_argument(
        "--port", type=int, default=None, help="client port of node 1 (default: HX_BOOTSTRAP's)"
    )
    start.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for it")
    start.add_argument(
        "--secure",
        action="store_true",
        help="SASL_PLAINTEXT/SCRAM-SHA-512 + ACLs (StandardAuthorizer, super-user admin); "
        "fixed when the cluster is made",
    )
    start.add_argument(
        "--plain-port",
        type=int,
        default=None,
        metavar="PORT",
        help="with --secure: also a PLAINTEXT listener on 127.0.0.1:PORT (development only: "
        "its anonymous user is a super-user)",
    )
    start.add_argument(
        "--tls",
        action="store_true",
        help="with --secure: SASL_SSL instead of SASL_PLAINTEXT, with a local CA and broker "
        "certificate made under $HX_STATE_DIR/broker/tls (clients set HX_SSL_CAFILE); "
        "fixed when the cluster is made",
    )
    start.set_defaults(handler=_start)

    status = actions.add_parser("status", help="list the nodes; exit 0 running, 3 not")
    status.set_defaults(handler=_status)

    stop = actions.add_parser("stop", help="stop every node (SIGTERM, SIGKILL after a timeout)")
    stop.add_argument("--timeout", type=float, default=30.0, help="seconds before SIGKILL")
    stop.set_defaults(handler=_stop)


def _fetch(args: argparse.Namespace, settings: Settings) -> int:
    lib = broker.fetch_jars(force=args.force)
    print(f"Kafka jars in {lib} ({sum(1 for _ in lib.glob('*.jar'))} jars)")
    return 0


def _start(args: argparse.Namespace, settings: Settings) -> int:
    root = broker.broker_root(settings)
    status = broker.cluster_status(root)
    if status is not None and status.running:
        broker.check_layout(status.cluster, nodes=args.nodes, port=args.port)
        print(
            f"Kafka already runs: {len(status.nodes)} node(s), bootstrap {status.cluster.bootstrap}"
        )
        return 0
    port = args.port
    if port is None and status is None:
        port = broker.bootstrap_port(settings.bootstrap)
    cluster = broker.start_cluster(
        root,
        nodes=args.nodes,
        port=port,
        timeout=args.timeout,
        secure=True if args.secure else None,
        plain_port=args.plain_port,
        tls=True if args.tls else None,
    )
    print(f"Kafka runs: {len(cluster.nodes)} node(s), state in {root}")
    print(f"bootstrap {cluster.bootstrap}")
    if cluster.secure:
        protocol = broker.security_protocol(cluster)
        print(f"secured: {protocol} {broker.MECHANISM}, ACLs; super-user admin, password in")
        print(f'  {broker.admin_password_file(root)} (eval "$(hxbus credentials --admin)")')
        ca = broker.ca_file(cluster)
        if ca is not None:
            print(f"TLS: clients trust the local CA {ca} (HX_SSL_CAFILE)")
        if cluster.plain_port is not None:
            print(f"plain listener (development) on 127.0.0.1:{cluster.plain_port}")
    return 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    root = broker.broker_root(settings)
    status = broker.cluster_status(root)
    if status is None:
        print(f"no cluster under {root} (hxbus broker start makes one)")
        return NOT_RUNNING
    print(f"{'node':>4}  {'pid':>8}  {'port':>5}  alive")
    for node in status.nodes:
        pid = str(node.pid) if node.pid is not None else "-"
        print(
            f"{node.node_id:>4}  {pid:>8}  {node.broker_port:>5}  {'yes' if node.alive else 'no'}"
        )
    print(f"bootstrap {status.cluster.bootstrap}")
    print(f"security {broker.security_protocol(status.cluster)}")
    ca = broker.ca_file(status.cluster)
    if ca is not None:
        print(f"CA file {ca}")
    return 0 if status.running else NOT_RUNNING


def _stop(args: argparse.Namespace, settings: Settings) -> int:
    root = broker.broker_root(settings)
    stopped = broker.stop_cluster(root, timeout=args.timeout)
    if stopped:
        print(f"stopped node(s) {', '.join(str(i) for i in stopped)}")
    else:
        print("Kafka was not running")
    return 0
