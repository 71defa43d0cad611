"""The JVMs of a local cluster: start one, tell whether it runs, signal it, wait for it.

A node's pid file is trusted only while that pid is alive and its command line names the
node's server.properties, so a reused pid is never mistaken for a node. Nodes are started
in their own session, so they outlive the process that started them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from hxbus.broker.jars import java_executable, kafka_dir
from hxbus.broker.layout import HOST, Cluster, Node, render_properties, server_properties
from hxbus.broker.security import admin_password_file, format_arguments, secure_properties
from runtime.secrets import read_secret
from schemas.errors import BrokerError, ConfigError

#: JVM options of the upstream start scripts, with a heap fit for a shared two-core box.
JVM_OPTIONS = (
    "-server",
    "-Xms256m",
    "-Xmx512m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:-UsePerfData",
    "-Djava.awt.headless=true",
)


def _read_pid(node: Node) -> int | None:
    try:
        return int(node.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def process_alive(pid: int) -> bool:
    """True while ``pid`` runs; reaps it first when it is an exited child of ours."""
    try:
        reaped, _status = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    except ChildProcessError:
        pass  # not our child (started by another hxbus process): ask the kernel instead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """An exited process its parent has not reaped yet (e.g. a node another hxbus process
    started and this one stopped): it is dead, though the kernel still lists it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _is_node_process(pid: int, node: Node) -> bool:
    """The pid is alive and is this node's JVM (a reused pid would not name its config)."""
    if not process_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc (not Linux): trust the pid file
    return str(node.properties_file).encode() in cmdline


def node_pid(node: Node) -> int | None:
    """The pid of the node's running JVM, or None when it does not run."""
    pid = _read_pid(node)
    return pid if pid is not None and _is_node_process(pid, node) else None


def port_in_use(port: int) -> bool:
    """Something on this host already listens on ``port`` (of 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return True
    return False


def check_ports_free(nodes: Iterable[Node]) -> None:
    """ConfigError naming the first port of ``nodes`` that another process holds."""
    for node in nodes:
        for role, port in (("client", node.broker_port), ("controller", node.controller_port)):
            if port_in_use(port):
                raise ConfigError(
                    f"port {port} on {HOST} (node {node.node_id} {role} port) is already in "
                    "use by another process: stop it, or start on other ports with --port "
                    "(or HX_BOOTSTRAP)"
                )


def java_command(node: Node, main_class: str, *args: str) -> list[str]:
    return [
        java_executable(),
        *JVM_OPTIONS,
        f"-XX:ErrorFile={node.directory}/hs_err_%p.log",
        f"-Dlog4j2.configurationFile={kafka_dir() / 'log4j2.properties'}",
        f"-Dhxbus.node.dir={node.directory}",
        "-cp",
        f"{kafka_dir() / 'lib'}/*",
        main_class,
        *args,
    ]


def write_node_files(cluster: Cluster, node: Node) -> None:
    """The node's server.properties; 0600 on a secured cluster (it holds a JAAS password)."""
    node.directory.mkdir(parents=True, exist_ok=True)
    properties = server_properties(cluster, node)
    if cluster.secure:
        password = read_secret(admin_password_file(cluster.root))
        properties.update(secure_properties(cluster, node, password))
    descriptor = os.open(node.properties_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(render_properties(properties))
    os.chmod(node.properties_file, 0o600 if cluster.secure else 0o644)


def _argument_file(node: Node, arguments: list[str]) -> Path:
    """A 0600 ``java @file`` holding the main class and its arguments, one a line, quoted.

    The java launcher expands it before the JVM starts, so the admin's SCRAM password in
    ``--add-scram`` never appears on a command line (``/proc/<pid>/cmdline``, ``ps``),
    which every local user can read; only the file's owner can read the file.
    """
    path = node.directory / "storage-format.args"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        for argument in arguments:
            escaped = argument.replace("\\", "\\\\").replace('"', '\\"')
            out.write(f'"{escaped}"\n')
    return path


def format_storage(cluster: Cluster, nodes: Iterable[Node]) -> None:
    """Format the data dirs not formatted yet (in parallel: each is a JVM start).

    The StorageTool's arguments travel in a 0600 argument file (``_argument_file``),
    removed once it ran: on a secured cluster they hold the admin's password.
    """
    pending = [n for n in nodes if not (n.data_dir / "meta.properties").exists()]
    runs = []
    argument_files = []
    try:
        for node in pending:
            node.directory.mkdir(parents=True, exist_ok=True)
            arguments = [
                "kafka.tools.StorageTool", "format", "-t", cluster.cluster_id,
                "-c", str(node.properties_file), "--ignore-formatted",
                *format_arguments(cluster),
            ]  # fmt: skip
            argument_files.append(_argument_file(node, arguments))
            argv = java_command(node, f"@{argument_files[-1]}")
            runs.append(
                (node, subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
            )
        outputs = [(node, run, run.communicate(timeout=120)[0]) for node, run in runs]
    finally:
        for path in argument_files:
            path.unlink(missing_ok=True)
    for node, run, output in outputs:
        if run.returncode != 0:
            text = output.decode(errors="replace").strip()
            for secret in format_arguments(cluster)[1:]:  # never echo the admin password
                text = text.replace(secret, "--add-scram <admin credential>")
            raise BrokerError(f"node {node.node_id}: storage format failed: {text[-800:]}")


def spawn(node: Node) -> int:
    """Start the node's JVM in its own session (it outlives this process) and record its pid."""
    argv = java_command(node, "kafka.Kafka", str(node.properties_file))
    stdout = node.directory / "stdout.log"
    file_actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(stdout), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    pid = os.posix_spawn(argv[0], argv, dict(os.environ), file_actions=file_actions, setsid=True)
    node.pid_file.write_text(f"{pid}\n")
    # posix_spawn may return before the child has exec'd java (its cmdline is still empty);
    # wait for that, so node_pid() recognises the node from now on.
    deadline = time.monotonic() + 10.0
    while not _is_node_process(pid, node):
        if time.monotonic() > deadline or not process_alive(pid):
            raise BrokerError(f"node {node.node_id}: java did not start; see {stdout}")
        time.sleep(0.01)
    return pid


def wait_dead(pids: dict[int, int], timeout: float) -> dict[int, int]:
    """Poll until the processes exit; returns those still alive at the deadline."""
    deadline = time.monotonic() + timeout
    alive = dict(pids)
    while alive and time.monotonic() < deadline:
        alive = {node_id: pid for node_id, pid in alive.items() if process_alive(pid)}
        if alive:
            time.sleep(0.2)
    return alive


def send_signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it exited meanwhile: what we wanted
        os.kill(pid, sig)
