"""The open assistance requests and hit confirmations, with their deadlines, for the console.

Read from the request tracker's own state (``consumers.TrackerStore``: what ``hxbus
requests`` reads), so the console shows exactly what the tracker decides, second notices
included. Rows hold ids, agencies, priority, deadlines and states: no message text.
The countdown is the browser's: it gets each deadline and the server's clock.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from consumers.tracker import ItemState, NoticeState, TrackedItem, TrackerStore, tracker_path
from hxbus.console.principal import Principal
from hxbus.tracked_items import current_deadline, tracked_item_json

#: Most rows one update carries: overdue first, then the nearest deadline.
MAX_ROWS = 150


def read_requests(
    state_dir: Path, group: str, principal: Principal, now: datetime
) -> dict[str, Any]:
    """Counts and rows of the tracker group's items the principal may read."""
    if not tracker_path(state_dir, group).exists():
        return {"available": False, "rows": [], "counts": {}}
    with TrackerStore.for_group(state_dir, group, create=False) as store:
        items = [i for i in store.items() if principal.may_read_item(i.requester, i.target)]
    counts: Counter[str] = Counter()
    for item in items:
        state = item.state(now)
        counts[state.value] += 1
        if state is ItemState.ANSWERED:
            counts["answered_late" if item.answered_late else "answered_in_time"] += 1
        if item.notice is NoticeState.SENT:
            counts["second_notices"] += 1
    shown = sorted(items, key=lambda i: _order(i, now))[:MAX_ROWS]
    return {
        "available": True,
        "rows": [tracked_item_json(item, now) for item in shown],
        "counts": dict(counts),
    }


def _order(item: TrackedItem, now: datetime) -> tuple[int, float]:
    rank = {ItemState.OVERDUE: 0, ItemState.OPEN: 1, ItemState.ACKNOWLEDGED: 1}
    state = item.state(now)
    moment = current_deadline(item).timestamp()
    if state is ItemState.ANSWERED:
        return 2, -(item.answered_at or now).timestamp()  # latest answers first
    return rank[state], moment
