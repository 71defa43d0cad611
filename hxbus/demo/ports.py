"""The metrics ports of the demo's roles: the agreement's (``hxbus.role_ports``), checked
free before anything starts."""

from __future__ import annotations

from dataclasses import dataclass

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
    #: By province key.
    bridges: dict[str, int]

    @classmethod
    def of(cls, agreement: Agreement) -> DemoPorts:
        ports = agreement.metrics_ports
        return cls(ports.publisher, ports.tracker, ports.lookup, bridge_ports(agreement))

    def all(self) -> dict[str, int]:
        """Every port, by the role's name."""
        named = {"publisher": self.publisher, "tracker": self.tracker, "lookup": self.lookup}
        return named | {f"bridge {p}": port for p, port in self.bridges.items()}

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
