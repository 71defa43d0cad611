"""Where each role serves /metrics and /healthz on a machine that runs them all: the
agreement's ``[metrics_ports]`` and each province's ``metrics_port``.

One list, derived from the agreement, for ``hxbus top``'s default URLs, the console's
standard roles and the demo's roles; deploy/prometheus/prometheus.yml scrapes the same
ports (a test keeps it equal to this list). A bridge run with ``--workers N`` serves one
page per worker (``bridge.workers.worker_metrics_port``); ``worker_urls`` names where
workers 2 and up would serve, for the readers that sum a province's workers.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.workers import MAX_WORKERS, worker_metrics_port
from schemas import Agreement
from schemas.errors import ConfigError


@dataclass(frozen=True, slots=True)
class RolePort:
    """A role's metrics port: ``publisher``, ``tracker``, ``lookup`` or ``bridge XX``."""

    name: str
    kind: str
    port: int
    province: str | None = None

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/metrics"

    def worker_urls(self, host: str = "127.0.0.1") -> list[str]:
        """Where a bridge's workers 2 to ``MAX_WORKERS`` serve /metrics when it runs with
        ``--workers N`` (worker 1 is ``url``); none for the other roles."""
        if self.kind != "bridge":
            return []
        ports = (worker_metrics_port(self.port, k) for k in range(2, MAX_WORKERS + 1))
        return [f"http://{host}:{port}/metrics" for port in ports]


def role_ports(agreement: Agreement) -> list[RolePort]:
    """The publisher, tracker and lookup service, then each province's bridge in the
    agreement's order; ConfigError naming the province whose ``metrics_port`` is missing."""
    ports = agreement.metrics_ports
    roles = [
        RolePort("publisher", "publisher", ports.publisher),
        RolePort("tracker", "tracker", ports.tracker),
        RolePort("lookup", "lookup", ports.lookup),
    ]
    for key, province in agreement.provinces.items():
        if province.metrics_port is None:
            raise ConfigError(
                f"provinces.{key}.metrics_port: missing; every province's bridge needs the "
                "port it serves /metrics on (deploy/prometheus/prometheus.yml scrapes it)"
            )
        roles.append(RolePort(f"bridge {key}", "bridge", province.metrics_port, key))
    return roles


def bridge_ports(agreement: Agreement) -> dict[str, int]:
    """Each province's bridge metrics port, by province key."""
    return {r.province: r.port for r in role_ports(agreement) if r.province is not None}
