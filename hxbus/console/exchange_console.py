"""The console's state: what it watches, for whom, and one snapshot a second for the page.

``ExchangeConsole`` exists before it has anything to watch (the demo starts it, and
prints its address, before the broker is up): until ``attach`` gives it its sources, a
snapshot says ``starting``. The sources are the topic reader (alert register, flows), the
region watch (metrics, history), the dead-letter desk and the tracker's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hxbus.console.alert_book import AlertBook
from hxbus.console.dead_letters import DeadLetterDesk
from hxbus.console.flows import EVERYONE, FlowCounter
from hxbus.console.layout import MAP_HEIGHT, region_layout
from hxbus.console.operators import OperatorLogins
from hxbus.console.principal import Principal
from hxbus.console.region_watch import RegionWatch, RoleUrl
from hxbus.console.requests_view import read_requests
from hxbus.console.topic_reader import TopicReader
from runtime import Settings, agreement_verifier
from schemas import Agreement
from schemas.timestamps import format_time

#: Values the alert filters accept (anything else is refused, naming the filter).
ALERT_KINDS = ("PERSON", "VEHICLE")
ALERT_STATUSES = ("ACTIVE", "EXPIRED", "WITHDRAWN", "RESOLVED", "OTHER")


@dataclass(frozen=True, slots=True)
class AlertFilter:
    kind: str | None = None
    agency: str | None = None
    status: str | None = None


@dataclass
class Sources:
    """What the console reads; started by ``ExchangeConsole.attach``, stopped by ``close``."""

    settings: Settings
    tracker_group: str
    reader: TopicReader
    watch: RegionWatch
    desk: DeadLetterDesk
    book: AlertBook
    flows: FlowCounter

    @classmethod
    def build(
        cls,
        settings: Settings,
        agreement: Agreement,
        principal: Principal,
        *,
        roles: list[RoleUrl],
        tracker_group: str,
        dlq_groups: list[str] | None,
    ) -> Sources:
        book, flows = AlertBook(), FlowCounter()
        inboxes = [
            a.id for a in agreement.agencies if principal.is_auditor or a.id == principal.name
        ]
        return cls(
            settings=settings,
            tracker_group=tracker_group,
            reader=TopicReader(
                settings,
                inboxes,
                book,
                flows,
                own_inbox=None if principal.is_auditor else principal.name,
                verifier=agreement_verifier(agreement, role="console"),
            ),
            watch=RegionWatch(roles),
            desk=DeadLetterDesk(settings, dlq_groups),
            book=book,
            flows=flows,
        )


class ExchangeConsole:
    """The region as one principal may see it."""

    def __init__(
        self, agreement: Agreement, principal: Principal, operators: OperatorLogins
    ) -> None:
        self.agreement = agreement
        self.principal = principal
        self.operators = operators
        self.sources: Sources | None = None

    def attach(self, sources: Sources) -> None:
        """Start reading; the page shows data from the next second on."""
        sources.reader.start()
        sources.watch.start()
        sources.desk.start()
        self.sources = sources

    def close(self) -> None:
        if self.sources is not None:
            self.sources.reader.stop()
            self.sources.watch.stop()
            self.sources.desk.stop()

    def region(self) -> dict[str, Any]:
        """What does not change while the console runs: the map and who is looking."""
        return {
            "principal": self.principal.name,
            "provinces": {
                key: {"name": p.name, "name_zh": p.name_zh}
                for key, p in self.agreement.provinces.items()
            },
            "places": [
                {
                    "agency": p.agency,
                    "city": p.city,
                    "city_zh": p.city_zh,
                    "province": p.province,
                    "x": p.x,
                    "y": p.y,
                }
                for p in region_layout(self.agreement)
            ],
            "map_height": MAP_HEIGHT,
            "alert_kinds": list(ALERT_KINDS),
            "alert_statuses": list(ALERT_STATUSES),
        }

    def history(self) -> list[dict[str, Any]]:
        return self.sources.watch.history() if self.sources else []

    def snapshot(self, alert_filter: AlertFilter) -> dict[str, Any]:
        """Everything the page shows, now, as the principal may see it."""
        now = datetime.now(UTC)
        base: dict[str, Any] = {"now": format_time(now), "principal": self.principal.name}
        sources = self.sources
        if sources is None:
            return {**base, "starting": True}
        alerts, matched = sources.book.rows(
            self.principal,
            kind=alert_filter.kind,
            agency=alert_filter.agency,
            status=alert_filter.status,
            now=now,
        )
        return {
            **base,
            "starting": False,
            "metrics": sources.watch.latest(),
            "flows": [
                {"source": f.source, "target": f.target, "type": f.event_type, "rate": f.rate}
                for f in sources.flows.flows()
                if self.principal.may_see_flow(f.source, f.target, EVERYONE)
            ],
            "alerts": {"rows": alerts, "matched": matched, "loading": sources.reader.loading},
            "requests": read_requests(
                sources.settings.state_dir, sources.tracker_group, self.principal, now
            ),
            "dead_letters": sources.desk.summary(),
            "errors": [e for e in (sources.reader.error, sources.desk.error) if e],
        }

    def state_dir(self) -> Path | None:
        return self.sources.settings.state_dir if self.sources else None
