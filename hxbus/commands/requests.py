"""``hxbus requests [--overdue] [--agency A] [--json]``: what the request tracker tracks.

One line per item, oldest deadline first: kind (``request``: one target of an
AssistanceRequest; ``hit``: an AlertHit asking for confirmation), its id, the requester,
the target (who owes the answer), priority, ack_by, respond_by, and the state now (open,
acknowledged, answered, overdue), with ``late`` when an answer came after its deadline
and ``2nd-notice`` once a second notice went out. Read from the state of ``hxbus tracker
run`` (same ``HX_STATE_DIR`` and ``--group``); no message text is shown.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from consumers.tracker import DEFAULT_GROUP, ItemState, NoticeState, TrackedItem, TrackerStore
from hxbus.tracked_items import tracked_item_json
from runtime import Settings
from schemas import load_agreement
from schemas.timestamps import format_time


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "requests",
        help="list tracked requests and hit confirmations, and which are overdue",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--group", default=DEFAULT_GROUP, help=f"tracker group ({DEFAULT_GROUP})")
    parser.add_argument("--overdue", action="store_true", help="only items past a deadline")
    parser.add_argument("--agency", help="only items this agency owes or waits for")
    parser.add_argument("--json", action="store_true", help="one JSON object per item (NDJSON)")
    parser.set_defaults(handler=_list)


def selected(
    items: list[TrackedItem], now: datetime, *, overdue: bool, agency: str | None
) -> list[TrackedItem]:
    """The items ``--overdue`` and ``--agency`` let through."""
    return [
        item
        for item in items
        if (not overdue or item.state(now) is ItemState.OVERDUE)
        and (agency is None or agency in (item.target, item.requester))
    ]


def line(item: TrackedItem, now: datetime) -> str:
    """One line of the plain listing."""
    notes = []
    if item.acknowledged_late or item.answered_late:
        notes.append("late")
    if item.notice is NoticeState.SENT:
        notes.append("2nd-notice")
    return "  ".join(
        [
            f"{item.kind:<7}",
            item.item_id,
            item.requester,
            "->",
            item.target,
            f"{item.priority:<9}",
            format_time(item.ack_by),
            format_time(item.respond_by),
            item.state(now).value,
            ",".join(notes),
        ]
    ).rstrip()


def _list(args: argparse.Namespace, settings: Settings) -> int:
    if args.agency is not None:
        load_agreement(settings.agreement).agency(args.agency)  # ConfigError: not an agency
    now = datetime.now(UTC)
    with TrackerStore.for_group(settings.state_dir, args.group, create=False) as store:
        items = selected(list(store.items()), now, overdue=args.overdue, agency=args.agency)
    if args.json:
        for item in items:
            print(json.dumps(tracked_item_json(item, now)))
        return 0
    for item in items:
        print(line(item, now))
    print(f"{len(items)} item{'' if len(items) == 1 else 's'}")
    return 0
