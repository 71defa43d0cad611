"""``hxbus validate [--type T] FILE...``: check JSON events against the contract and agreement.

Each FILE holds one JSON event (pretty-printed or not) or NDJSON, one event a line; ``-``
reads standard input. Prints ``ok <file>:<line> <type> <id>`` per valid event and
``<file>:<line>: <path>: <rule>`` per broken rule. Exit status: 0 when every event is
valid, 1 when any is not, 2 when a file cannot be read as UTF-8 JSON at all.
"""

from __future__ import annotations

import argparse
import sys
from typing import IO, Any

from hxbus.exit_codes import ExitCode
from runtime import Settings
from schemas import EVENT_TYPES, ExchangeEvent, load_agreement, read_events
from schemas.errors import Issue, UnreadableInput, ValidationFailed

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = ExitCode.OK, ExitCode.INVALID, ExitCode.UNREADABLE


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check JSON events (CloudEvents form) against the contract's rules",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--type", choices=EVENT_TYPES, metavar="TYPE", help="every event must be of this type"
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="JSON or NDJSON file, - for stdin")
    parser.set_defaults(handler=_validate)


def _validate(args: argparse.Namespace, settings: Settings) -> int:
    agreement = load_agreement(settings.agreement)
    status = EXIT_VALID
    for name in args.files:
        source: str | IO[bytes] = sys.stdin.buffer if name == "-" else name
        label = "<stdin>" if name == "-" else name
        try:
            for line, outcome in read_events(source, agreement):
                issues = _issues(outcome, args.type)
                if isinstance(outcome, ExchangeEvent) and not issues:
                    print(f"ok {label}:{line} {outcome.event_type} {outcome.envelope.message_id}")
                    continue
                status = max(status, EXIT_INVALID)
                for issue in issues:
                    print(f"{label}:{line}: {issue}")
        except UnreadableInput as exc:
            print(f"hxbus validate: {exc}", file=sys.stderr)
            status = EXIT_UNREADABLE
    return status


def _issues(outcome: ExchangeEvent | ValidationFailed, required_type: str | None) -> list[Issue]:
    """The issues of one event, with a type other than ``--type`` among them."""
    if isinstance(outcome, ValidationFailed):
        return list(outcome.issues)
    if required_type and outcome.event_type != required_type:
        return [Issue("type", f"must be {required_type} (--type), not {outcome.event_type}")]
    return []
