"""The metrics ports of the demo's roles: the agreement's (``hxbus.role_ports``), checked
free before anything starts."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.workers import worker_metrics_port
from hxbus import broker
from hxbus.role_ports import bridge_ports
from schemas import Agreement
from schemas.errors import ConfigError


@dataclass(frozen=True, slots=True)
class DemoPorts:
    """Where the demo's publisher, tracker, lookup service and bridges serve /metrics."""

    publisher: int
    tracker: int
    lookup: int
    #: By province key (worker 1's, with ``--bridge-workers``).
    bridges: dict[str, int]
    #: Worker processes per bridge: worker K serves on the bridge's port + 10 x (K - 1).
    bridge_workers: int = 1

    @classmethod
    def of(cls, agreement: Agreement, bridge_workers: int = 1) -> DemoPorts:
        ports = agreement.metrics_ports
        return cls(
            ports.publisher, ports.tracker, ports.lookup, bridge_ports(agreement), bridge_workers
        )

    def all(self) -> dict[str, int]:
        """Every port, by the role's name."""
        named = {"publisher": self.publisher, "tracker": self.tracker, "lookup": self.lookup}
        bridges = {f"bridge {p}": port for p, port in self.bridges.items()}
        workers = {
            f"bridge {p} worker {k}": worker_metrics_port(port, k)
            for p, port in self.bridges.items()
            for k in range(2, self.bridge_workers + 1)
        }
        return named | bridges | workers

    def check_free(self) -> None:
        """Fail before anything starts when a role's /metrics port is taken: otherwise the
        broker starts and the role dies with a bind traceback buried in its log."""
        for name, port in self.all().items():
            if broker.port_in_use(port):
                raise ConfigError(
                    f"metrics port {port} ({name}) on 127.0.0.1 is already in use by another "
                    "process (an earlier demo or role still running?): the demo's roles serve "
                    "/metrics on the agreement's metrics ports; stop it"
                )
