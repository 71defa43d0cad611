"""Running ``hxbus`` commands in unit tests without touching the global logging setup."""

from __future__ import annotations

from hxbus.cli import build_parser
from runtime import Settings


def run_cli(argv: list[str]) -> int:
    """Run an ``hxbus`` command's handler as ``main`` would, without configuring logging.

    ``main`` binds structlog to the stderr of the moment, pytest's capture file, which later
    tests would then write to after it is closed.
    """
    args = build_parser().parse_args(argv)
    status: int = args.handler(args, Settings())
    return status
