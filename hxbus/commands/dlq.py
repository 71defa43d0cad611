"""``hxbus dlq list|show|replay --group G``: what a consumer group could not handle.

``list`` prints one line per entry and no personal data (the error text has identity
numbers masked). ``show`` prints one entry in full, headers and decoded record, and is
the only way to see the personal data a dead-lettered message holds: it names the entry
(``--id`` or ``--offset``), and each use is logged. ``replay`` re-publishes entries to
where they came from once the cause is fixed; an entry is replayed at most once (replay
log), and consumers skip a message they already handled (same message id).
"""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import structlog

from consumers import DeadLetter, ReplayLog, read_dead_letters, replay
from hxbus.exit_codes import ExitCode
from runtime import Settings, mask_personal_data
from schemas import Codec, ExchangeEvent, dlq_topic, parse_headers, render_event

log = structlog.get_logger("hxbus.dlq")

#: The error text in ``list`` is cut to this many characters.
LIST_MESSAGE_CHARS = 100


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dlq",
        help="list, show and replay the dead-letter queue of a consumer group",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="dlq_action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="one line per entry, no personal data")
    _selection(listing)
    listing.set_defaults(handler=_list)

    show = actions.add_parser("show", help="one entry in full: headers and decoded record")
    show.add_argument("--group", required=True, help="the consumer group")
    which = show.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", dest="message_id", help="the message id (ce_id) of the entry")
    which.add_argument("--offset", help="the entry's DLQ offset, as list prints it")
    show.set_defaults(handler=_show)

    again = actions.add_parser("replay", help="re-publish entries to their original topic")
    _selection(again)
    again.add_argument("--offset", help="only the entry at this DLQ offset")
    again.add_argument("--dry-run", action="store_true", help="say what would be replayed")
    again.set_defaults(handler=_replay)


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--group", required=True, help="the consumer group")
    parser.add_argument("--since", type=_iso_time, help="entries written at or after (ISO 8601)")
    parser.add_argument("--id", dest="message_id", help="only entries of this message id")
    parser.add_argument("--reason", help="only entries with this reason (e.g. sink_rejected)")


def _iso_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time such as 2025-03-01T08:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _selected(args: argparse.Namespace, settings: Settings) -> Iterator[DeadLetter]:
    for entry in read_dead_letters(settings, args.group, since=getattr(args, "since", None)):
        if args.message_id and entry.message_id != args.message_id:
            continue
        if getattr(args, "reason", None) and entry.reason != args.reason:
            continue
        if getattr(args, "offset", None) and entry.entry_id != args.offset:
            continue
        yield entry


def _masked(text: str) -> str:
    masked = mask_personal_data(None, "", {"text": text})["text"]
    one_line = " ".join(str(masked).split())
    if len(one_line) > LIST_MESSAGE_CHARS:
        one_line = one_line[: LIST_MESSAGE_CHARS - 1] + "…"
    return one_line


def list_line(entry: DeadLetter) -> str:
    """One ``list`` line: offset, time, reason, origin, message id, masked error text."""
    origin = f"{entry.origin_topic}/{entry.origin_partition}@{entry.origin_offset}"
    return "  ".join(
        [
            entry.entry_id,
            entry.header("hx_dlq_time") or entry.timestamp.isoformat(),
            entry.reason,
            origin,
            entry.message_id or "-",
            _masked(entry.message),
        ]
    )


def _list(args: argparse.Namespace, settings: Settings) -> int:
    count = 0
    for entry in _selected(args, settings):
        print(list_line(entry))
        count += 1
    print(f"{count} entr{'y' if count == 1 else 'ies'} in {dlq_topic(args.group)}")
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    entries = list(_selected(args, settings))
    if not entries:
        print(f"no such entry in {dlq_topic(args.group)}")
        return ExitCode.INVALID
    for entry in entries:
        log.info(
            "dlq_entry_shown",
            group=args.group,
            entry=entry.entry_id,
            message_id=entry.message_id,
            operator=getpass.getuser(),
        )
        print(render_entry(entry, Codec()))
    return 0


def render_entry(entry: DeadLetter, codec: Codec) -> str:
    """One entry in full: its DLQ id, every header, the decoded record if it decodes."""
    lines = [f"entry {entry.entry_id} (written {entry.timestamp.isoformat()})"]
    lines.append(f"key: {_text(entry.key) if entry.key is not None else '-'}")
    lines.append("headers:")
    lines.extend(f"  {name}: {_text(value)}" for name, value in entry.headers)
    lines.append("record:")
    lines.append(_record_text(entry, codec))
    return "\n".join(lines)


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + value.hex()


def _record_text(entry: DeadLetter, codec: Codec) -> str:
    if not entry.value:
        return "  (no value)"
    try:
        event_type, record = codec.decode(entry.value)
    except Exception as exc:  # poison is expected here: say why it does not decode
        return f"  (does not decode: {type(exc).__name__}: {exc}; {len(entry.value)} bytes)"
    try:
        envelope, _headers = parse_headers(entry.original_headers())
        rendered: Any = render_event(ExchangeEvent(envelope, record))
    except Exception:  # headers missing or wrong: show the record alone
        rendered = {"type": event_type, "data": record}
    return json.dumps(rendered, ensure_ascii=False, indent=2, default=str)


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    entries = list(_selected(args, settings))
    if args.dry_run:
        for entry in entries:
            print(f"would replay {entry.entry_id} to {entry.origin_topic}")
        print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} selected")
        return 0
    replay_log = ReplayLog.under(settings.state_dir)
    try:
        results = replay(settings, args.group, entries, replay_log)
    finally:
        replay_log.close()
    for result in results:
        print(f"{result.status} {result.entry.entry_id}: {result.detail}")
    replayed = sum(1 for r in results if r.status == "replayed")
    print(f"{replayed} replayed, {len(results) - replayed} skipped")
    return 0
