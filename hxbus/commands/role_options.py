"""The options every long-running role shares: ``hxbus <role> run [--group G]
[--until-idle S] [--metrics-port N] [--metrics-linger S]``.

One spelling for each, so that a script or a test starts any role the same way. How a
role detects "idle" is the role's runtime's business; the flag only passes the seconds.
The spellings of earlier releases (``--max-idle S``, ``--idle-timeout S``) still work,
hidden from the help, with a note on standard error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from hxbus.commands.metrics_option import add_metrics_arguments

#: Options replaced by ``--until-idle``: accepted, with a note, until the next release.
DEPRECATED_IDLE_OPTIONS = ("--max-idle", "--idle-timeout")


def add_role_arguments(
    parser: argparse.ArgumentParser, *, group: str | None, group_help: str
) -> None:
    """Add ``--group``, ``--until-idle`` and the metrics options to a role's ``run``."""
    parser.add_argument("--group", default=group, metavar="GROUP", help=group_help)
    parser.add_argument(
        "--until-idle",
        type=positive_seconds,
        default=None,
        metavar="S",
        help="stop once caught up and nothing has arrived for S seconds "
        "(default: run until SIGTERM or SIGINT)",
    )
    for option in DEPRECATED_IDLE_OPTIONS:
        parser.add_argument(
            option,
            type=positive_seconds,
            dest="until_idle",
            action=_Deprecated,
            help=argparse.SUPPRESS,
        )
    add_metrics_arguments(parser)


def positive_seconds(text: str) -> float:
    """A number of seconds above 0 (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


class _Deprecated(argparse.Action):
    """Stores like ``--until-idle`` and says which spelling to use instead."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        print(f"hxbus: {option_string} is deprecated: use --until-idle", file=sys.stderr)
        setattr(namespace, self.dest, values)
