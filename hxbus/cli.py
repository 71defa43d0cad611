"""The ``hxbus`` command line: one sub-command module per task, wired here.

Each module in ``hxbus.commands`` exposes ``register(subparsers)``, which adds its parser
and sets ``handler`` to a function ``(args, settings) -> int`` (the exit status).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from hxbus import commands
from runtime import Settings, configure_logging, for_role
from schemas import load_agreement
from schemas.errors import ConfigError, HxError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hxbus",
        description="The Huaihai exchange bus: alerts, hits and assistance requests on Kafka.",
    )
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (env HX_LOG_LEVEL)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in commands.ALL:
        module.register(subparsers)
    return parser


#: Client id roles of the commands whose name is not their role's.
_ROLES = {"alert-register": "register"}

#: Exit status when the reader of standard output went away (``| head``): 128 + SIGPIPE,
#: what a shell reports for a program the signal ended.
EXIT_BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a reader that stops reading (``hxbus … | head``) ends it quietly."""
    try:
        status = _main(argv)
        sys.stdout.flush()  # inside the try: the last buffered lines may meet the closed pipe
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    return status


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's final flush of what is
    still buffered does not raise BrokenPipeError again (the Python documentation's recipe
    for SIGPIPE, "Note on SIGPIPE" in the signal module)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except Exception as exc:  # pydantic-settings raises ValidationError naming the variable
        print(f"hxbus: bad HX_ settings: {exc}", file=sys.stderr)
        return 2
    configure_logging(
        args.log_level or settings.log_level, personal_keys=_local_personal_keys(settings)
    )
    # Each command's Kafka clients name it (hxbus-publish, hxbus-tracker, ...); the bridge
    # refines its own to province and worker (hxbus-bridge-JS-1).
    settings = for_role(settings, _ROLES.get(args.command, args.command))
    try:
        status: int = args.handler(args, settings)
    except ConfigError as exc:
        print(f"hxbus: {exc}", file=sys.stderr)
        return 2
    except HxError as exc:
        print(f"hxbus: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        raise  # not a bug: the reader went away; main() ends quietly with 141
    except Exception as exc:  # a bug: its class, not a traceback (whose values may be personal)
        print(
            f"hxbus: unexpected {type(exc).__name__}; please report it "
            "(HX_LOG_LEVEL=DEBUG prints the traceback)",
            file=sys.stderr,
        )
        if (args.log_level or settings.log_level).upper() == "DEBUG":
            raise
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())


def _local_personal_keys(settings: Settings) -> frozenset[str]:
    """The provinces' local keys of personal data, masked in every log line; none when
    the agreement cannot be read (the command that needs it says why)."""
    try:
        return load_agreement(settings.agreement).personal_data_keys
    except ConfigError:
        return frozenset()
