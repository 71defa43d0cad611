"""The region the drill runs: its own three-broker cluster, the roles, the publisher.

Everything lives under ``<root>`` (emptied at the start): ``.state/`` (the cluster, the
agencies' keys, the roles' stores), ``agreement.toml`` (a copy of the agreement listing
the ten public keys: every message signed and verified), ``<province>/inbox/`` (the
directory sinks), ``receiver.log`` (the HTTP local system), ``ledger.sqlite``, ``logs/``.

Every role is a real OS process (``python -m hxbus ...`` in its own session), so the
drill's kill -9 is a real crash. Ports: the cluster's six (node i: ``base + 2i`` and
``base + 2i + 1``), then one /metrics port per role and the receiver's, all checked free.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bridge.runner import default_group
from hxbus import broker
from hxbus.broker.layout import Cluster
from hxbus.drill.receiver import Receiver
from hxbus.healthz_wait import wait_healthy
from runtime import Settings, run_provisioning
from runtime.signing_keys import keyed_copy
from schemas import Agreement
from schemas.errors import BrokerUnavailable, ConfigError

#: The province whose bridge delivers through the HTTP sink (the others: directories).
HTTP_PROVINCE = "AH"
#: The file that marks a directory as a drill's root (one the next drill may empty).
MARKER = ".hxbus-drill"
#: Ports the drill needs from its base: 6 for the brokers, 6 roles' /metrics, 1 receiver.
PORTS_NEEDED = 13


def free_port_base(low: int, high: int, count: int = PORTS_NEEDED) -> int:
    """The first even port in [low, high) with ``count`` free ports from it."""
    for base in range(low + low % 2, high - count, 2):
        if not any(broker.port_in_use(port) for port in range(base, base + count)):
            return base
    raise ConfigError(f"--ports {low}-{high}: no {count} consecutive free ports in the range")


@dataclass
class Role:
    """One role process the drill started (and may kill and start again)."""

    name: str
    argv: list[str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Region:
    """The cluster, roles, publisher and receiver of one drill run."""

    root: Path
    agreement: Agreement
    settings: Settings
    base_port: int
    rate: float
    http_timeout: float | None
    cluster: Cluster | None = None
    receiver: Receiver | None = None
    roles: dict[str, Role] = field(default_factory=dict)

    @property
    def ledger_path(self) -> Path:
        return self.root / "ledger.sqlite"

    @property
    def receiver_log(self) -> Path:
        return self.root / "receiver.log"

    def inbox(self, province: str) -> Path:
        return self.root / province / "inbox"

    # -- setting up --------------------------------------------------------------------

    def prepare(self) -> None:
        """Empty the root; keys for every agency; the agreement copy the roles use."""
        if self.root.exists():
            if any(self.root.iterdir()) and not (self.root / MARKER).exists():
                raise ConfigError(
                    f"--root: {self.root} holds files that no drill wrote; the drill empties "
                    "its root, so give it a new or empty directory"
                )
            shutil.rmtree(self.root)
        (self.root / "logs").mkdir(parents=True)
        (self.root / MARKER).write_text("written by hxbus drill; emptied by the next run\n")
        keyed, self.agreement = keyed_copy(self.settings, self.agreement, self.root)
        if (
            self.agreement.exchange.replication != 3
            or self.agreement.exchange.min_insync_replicas != 2
        ):
            raise ConfigError(
                "the drill needs an agreement with replication 3 and min_insync_replicas 2 "
                f"(HX_AGREEMENT {self.settings.agreement} says "
                f"{self.agreement.exchange.replication}/{self.agreement.exchange.min_insync_replicas})"
            )
        bootstrap = ",".join(f"127.0.0.1:{self.base_port + 2 * i}" for i in range(3))
        self.settings = keyed.model_copy(update={"bootstrap": bootstrap})

    def start_cluster(self) -> None:
        self.cluster = broker.start_cluster(
            self.root / ".state" / "broker", nodes=3, port=self.base_port, timeout=300
        )
        run_provisioning(self.settings, self.agreement)

    def start_receiver(self) -> None:
        self.receiver = Receiver(self.base_port + 12, self.receiver_log)
        self.receiver.start()

    def plan_roles(self) -> None:
        port = self.base_port + 6
        for province in self.agreement.provinces:
            argv = [
                "bridge", "run", "--province", province, "--root", str(self.root / province),
                "--group", default_group(province), "--no-outbound",
            ]  # fmt: skip
            if province == HTTP_PROVINCE:
                assert self.receiver is not None
                argv += ["--sink", "http", "--url", self.receiver.url]
                if self.http_timeout is not None:
                    argv += ["--http-timeout", f"{self.http_timeout:g}"]
            self._plan(f"bridge-{province}", argv, port)
            port += 1
        self._plan("tracker", ["tracker", "run"], port)
        self._plan("register", ["alert-register", "run"], port + 1)

    def _plan(self, name: str, argv: list[str], port: int) -> None:
        log = self.root / "logs" / f"{name}.log"
        self.roles[name] = Role(name, [*argv, "--metrics-port", str(port)], port, log)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HX_BOOTSTRAP": self.settings.bootstrap,
            "HX_AGREEMENT": str(self.settings.agreement),
            "HX_STATE_DIR": str(self.settings.state_dir),
        }

    def start_role(self, name: str, *, wait: bool = True) -> None:
        role = self.roles[name]
        with role.log.open("ab") as out:
            role.process = subprocess.Popen(  # our own interpreter and module
                [sys.executable, "-m", "hxbus", *role.argv],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env(),
                start_new_session=True,
            )
        role.starts += 1
        if wait:
            self.wait_ready([name])

    def wait_ready(self, names: list[str], timeout_s: float = 180.0) -> None:
        """Each role's /healthz answers 200 (connected, partitions held), or an error."""
        wait_healthy(
            [self.roles[n] for n in names],
            lambda role: (
                None if role.alive() else BrokerUnavailable(f"{role.name} exited; see {role.log}")
            ),
            timeout_s,
            interval_s=0.3,
        )

    # -- the publisher -----------------------------------------------------------------

    def start_publisher(self) -> None:
        log = self.root / "logs" / "publisher.log"
        role = self.roles.get("publisher") or Role("publisher", [], 0, log)
        self.roles["publisher"] = role
        with log.open("ab") as out:
            role.process = subprocess.Popen(
                [sys.executable, "-m", "hxbus.drill.publisher", str(self.ledger_path),
                 "--rate", f"{self.rate:g}"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env(),
                start_new_session=True,
            )  # fmt: skip
        role.starts += 1

    def stop_publisher(self, timeout_s: float = 180.0) -> int | None:
        """SIGTERM: the publisher settles what is in flight and exits; its exit status."""
        role = self.roles["publisher"]
        if role.process is None or role.process.poll() is not None:
            return role.process.returncode if role.process is not None else None
        role.process.send_signal(signal.SIGTERM)
        try:
            return role.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            role.process.kill()
            return role.process.wait()

    # -- faults ------------------------------------------------------------------------

    def kill(self, name: str) -> int | None:
        """kill -9 of a role (or the publisher); waits until it is gone; its pid."""
        role = self.roles[name]
        if role.process is None or role.process.poll() is not None:
            return None
        role.process.send_signal(signal.SIGKILL)
        role.process.wait()
        return role.process.pid

    # -- the end -----------------------------------------------------------------------

    def stop(self) -> None:
        """Stop every role (SIGTERM: each finishes its batch), the receiver, the cluster."""
        self.stop_roles()
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None
        if self.cluster is not None:
            broker.stop_cluster(self.cluster.root)
            self.cluster = None

    def stop_roles(self) -> None:
        """Stop every role (SIGTERM: each finishes its batch and commits), so that the local
        systems and the audit trail hold still while the checker reads them."""
        for role in self.roles.values():
            if role.alive():
                assert role.process is not None
                os.killpg(role.process.pid, signal.SIGTERM)
        for role in self.roles.values():
            if role.process is None:
                continue
            try:
                role.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(role.process.pid, signal.SIGKILL)
                role.process.wait()
