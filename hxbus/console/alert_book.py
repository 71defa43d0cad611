"""The alert register as the console keeps it: each alert's state and who may read it.

The state is the register's own (``consumers.AlertRegister``: the same fold as ``hxbus
alerts``); beside it the console keeps, per alert, the agencies its latest revision lets
read it (``handling`` and ``share_with``), which the register's entry does not hold and
the principal filter needs. Rows carry no personal data: the subject key is not sent.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from consumers.alert_register import AlertRegister, AlertState
from consumers.reading import utc_now
from hxbus.console.principal import RESTRICTED_HANDLING, Principal
from schemas.timestamps import format_time

#: Most alert rows one update carries (newest change first).
MAX_ROWS = 200


class AlertBook:
    """Thread-safe: the topic reader folds, the web handlers list."""

    def __init__(self) -> None:
        self._register = AlertRegister()
        self._readers: dict[str, frozenset[str] | None] = {}
        self._seen: dict[str, int] = {}  # alert id -> sequence of its last change
        self._sequence = 0
        self._lock = threading.Lock()

    def apply(self, event_type: str, record: Mapping[str, Any], position: str) -> None:
        """Fold one alert-topic message (a decoded record) in."""
        with self._lock:
            changed = self._register.apply(event_type, record, position)
            if changed is None:
                return
            if event_type in ("PersonAlert", "VehicleAlert"):
                handling = record.get("handling")
                self._readers[changed.alert_id] = (
                    frozenset(record.get("share_with") or ())
                    if handling in RESTRICTED_HANDLING
                    else None
                )
            self._sequence += 1
            self._seen[changed.alert_id] = self._sequence

    def rows(
        self,
        principal: Principal,
        *,
        kind: str | None = None,
        agency: str | None = None,
        status: str | None = None,
        now: datetime | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """The alerts ``principal`` may read that match the filters, newest change first
        (at most MAX_ROWS), and how many matched in all."""
        now = now or utc_now()
        with self._lock:
            order = sorted(self._seen.items(), key=lambda item: -item[1])
            matched: list[AlertState] = []
            for alert_id, _ in order:
                state = self._register.get(alert_id)
                if state is None:
                    continue
                readers = self._readers.get(alert_id, frozenset())
                if not principal.may_read_alert(state.issuing_agency, readers):
                    continue
                if kind and state.kind != kind:
                    continue
                if agency and state.issuing_agency != agency:
                    continue
                if status and state.shown_status(now) != status:
                    continue
                matched.append(state)
        return [_row(state, now) for state in matched[:MAX_ROWS]], len(matched)


def _row(state: AlertState, now: datetime) -> dict[str, Any]:
    return {
        "alert_id": state.alert_id,
        "kind": state.kind,
        "category": state.category,
        "agency": state.issuing_agency,
        "status": state.shown_status(now),
        "revision": state.revision,
        "valid_until": format_time(state.valid_until) if state.valid_until else None,
    }
