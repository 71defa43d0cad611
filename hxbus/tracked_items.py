"""One tracked item (a request target or a hit awaiting confirmation) as JSON: the form
``hxbus requests --json`` prints and the console's requests table reads.

Ids, agencies, priority, deadlines and states only: no message text. Times are RFC 3339
UTC; absent ones are null.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from consumers.tracker import TrackedItem
from schemas.timestamps import format_time


def current_deadline(item: TrackedItem) -> datetime:
    """The deadline that matters now: ack_by until acknowledged, then respond_by."""
    return item.ack_by if item.acknowledged_at is None else item.respond_by


def tracked_item_json(item: TrackedItem, now: datetime) -> dict[str, Any]:
    """The item's fields, its state at ``now`` and the deadline that matters now."""

    def when(moment: datetime | None) -> str | None:
        return format_time(moment) if moment is not None else None

    return {
        "kind": item.kind,
        "id": item.item_id,
        "requester": item.requester,
        "target": item.target,
        "priority": item.priority,
        "issued_at": when(item.issued_at),
        "ack_by": when(item.ack_by),
        "respond_by": when(item.respond_by),
        "acknowledged_at": when(item.acknowledged_at),
        "answered_at": when(item.answered_at),
        "deadline": format_time(current_deadline(item)),
        "deadline_kind": "ack" if item.acknowledged_at is None else "answer",
        "state": item.state(now).value,
        "acknowledged_late": item.acknowledged_late,
        "answered_late": item.answered_late,
        "late": item.acknowledged_late or item.answered_late,
        "second_notice": item.notice.value,
        "second_notice_at": when(item.notice_sent_at),
    }
