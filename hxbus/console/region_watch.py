"""Each second: every role's ``/metrics``, the bridges' health, and 15 minutes of history.

Each role is scraped on its own (``hxbus.metrics_view``, the parser ``hxbus top`` uses),
so a bridge's lag, dead letters and rejections are that bridge's, and one that does not
answer shows as down rather than vanishing into a sum. Rates come from two successive
scrapes; latency percentiles are of the deliveries made in between (as ``hxbus top``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hxbus.metrics_view import Scrape, View, scrape
from hxbus.role_ports import role_ports
from schemas import Agreement

#: One point a second for 15 minutes.
HISTORY_POINTS = 900
#: Lag (messages) above which a bridge shows as behind.
LAG_WARNING = 1000


@dataclass(frozen=True, slots=True)
class RoleUrl:
    """A role the console watches: ``publisher``, ``tracker`` or ``bridge`` (with its province)."""

    name: str
    kind: str
    url: str
    province: str | None = None
    #: Where a bridge's workers 2 and up would serve (``--workers N``): summed when up.
    workers: tuple[str, ...] = ()


def standard_roles(agreement: Agreement, host: str = "127.0.0.1") -> list[RoleUrl]:
    """The roles on the agreement's metrics ports (deploy/prometheus/prometheus.yml,
    ``hxbus top``): the publisher, tracker and lookup service, each province's bridge."""
    return [
        RoleUrl(r.name, r.kind, r.url(host), r.province, tuple(r.worker_urls(host)))
        for r in role_ports(agreement)
    ]


class RegionWatch:
    """Scrapes in a daemon thread every ``interval_s``; ``latest()`` and ``history()`` read."""

    def __init__(
        self,
        roles: list[RoleUrl],
        *,
        interval_s: float = 1.0,
        extra: Callable[[], None] | None = None,
    ) -> None:
        self._roles = roles
        self._interval_s = interval_s
        self._extra = extra
        self._previous: dict[str, Scrape] = {}
        self._latest: dict[str, Any] = {"bridges": [], "totals": {}, "roles_up": {}}
        self._history: deque[dict[str, Any]] = deque(maxlen=HISTORY_POINTS)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="console-metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def latest(self) -> dict[str, Any]:
        with self._lock:
            return self._latest

    def history(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._history)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.tick()
            if self._extra is not None:
                self._extra()
            self._stop.wait(max(0.05, self._interval_s - (time.monotonic() - started)))

    def tick(self) -> None:
        """One reading of every role (also called directly by tests)."""
        now = {
            role.name: scrape([role.url], optional=role.workers, timeout_s=0.8)
            for role in self._roles
        }
        views = {name: View(s, self._previous.get(name)) for name, s in now.items()}
        self._previous = now
        bridges = [
            _bridge_row(role, views[role.name]) for role in self._roles if role.kind == "bridge"
        ]
        published = sum(
            views[r.name].total("hx_published_total", outcome="ok").rate
            for r in self._roles
            if r.kind == "publisher"
        )
        delivered = sum(b["delivered_rate"] for b in bridges)
        region = View(_merged(now.values()), _merged(self._previous_for_merge(views)))
        point = {
            "t": time.time(),
            "published": round(published, 2),
            "delivered": round(delivered, 2),
            "p50": region.latency(0.5),
            "p99": region.latency(0.99),
        }
        latest = {
            "bridges": bridges,
            "totals": point,
            "roles_up": {name: bool(s.up) for name, s in now.items()},
        }
        with self._lock:
            self._latest = latest
            self._history.append(point)

    def _previous_for_merge(self, views: dict[str, View]) -> list[Scrape]:
        return [v.before for v in views.values() if v.before is not None]


def _merged(scrapes: Any) -> Scrape:
    """One Scrape summing the latency buckets of many (the region's percentiles)."""
    merged = Scrape(at=time.monotonic())
    for one in scrapes:
        for province, buckets in one.latency.items():
            target = merged.latency[province]
            for bound, count in buckets.items():
                target[bound] = target.get(bound, 0.0) + count
        merged.at = one.at
    return merged


def _bridge_row(role: RoleUrl, view: View) -> dict[str, Any]:
    up = bool(view.now.up)
    lag = sum(view.gauge("hx_consumer_lag_messages", ()).values())
    delivered = view.total("hx_bridge_deliveries_total", outcome="delivered")
    rejected = view.total("hx_bridge_deliveries_total", outcome="rejected")
    dead = view.total("hx_consumer_messages_total", outcome="dead_lettered")
    health = "down"
    if up:
        behind = lag > LAG_WARNING or rejected.rate > 0 or dead.rate > 0
        health = "warn" if behind else "ok"
    return {
        "name": role.name,
        "province": role.province,
        "up": up,
        "health": health,
        "lag": int(lag),
        "delivered_rate": round(delivered.rate, 2),
        "delivered": int(delivered.total),
        "p50": view.latency(0.5, role.province),
        "p99": view.latency(0.99, role.province),
        "dead_lettered": int(dead.total),
        "rejected": int(rejected.total),
    }
