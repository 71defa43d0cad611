"""The ``hxbus`` command line: one sub-command module per task, wired here.

Each module in ``hxbus.commands`` exposes ``register(subparsers)``, which adds its parser
and sets ``handler`` to a function ``(args, settings) -> int`` (the exit status, one of
``hxbus.exit_codes.ExitCode``). Errors that reach here are mapped to a status once, by
``exit_code``; ``hxbus --help`` lists the statuses.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from hxbus import commands
from hxbus.exit_codes import ExitCode, epilog, exit_code
from runtime import Settings, configure_logging, for_role
from schemas import load_agreement
from schemas.errors import ConfigError, HxError


class HelpParser(argparse.ArgumentParser):
    """An ArgumentParser whose help shows the docstrings' ``code`` marks as plain text.

    Sub-command parsers are made with the root parser's class, so every ``--help`` of
    ``hxbus`` renders through here; the descriptions stay the modules' docstrings."""

    def format_help(self) -> str:
        return super().format_help().replace("``", "")

    def format_usage(self) -> str:
        return super().format_usage().replace("``", "")


def build_parser() -> argparse.ArgumentParser:
    parser = HelpParser(
        prog="hxbus",
        description="The Huaihai exchange bus: alerts, hits and assistance requests on Kafka.",
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (env HX_LOG_LEVEL)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in commands.ALL:
        module.register(subparsers)
    return parser


#: Client id roles of the commands whose name is not their role's.
_ROLES = {"alert-register": "register"}

#: Roles that were started without ``run`` before every role was ``hxbus <role> run``:
#: the old spelling still works, with a note, until the next release.
_RUN_ADDED = frozenset({"alert-register", "lookup-service"})

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


def with_run(argv: Sequence[str]) -> list[str]:
    """``argv`` with ``run`` after a role of ``_RUN_ADDED`` given without it (old spelling)."""
    words = list(argv)
    at = 0
    while at < len(words) and words[at].startswith("-"):
        at += 2 if words[at] == "--log-level" else 1
    if at < len(words) and words[at] in _RUN_ADDED:
        following = words[at + 1] if at + 1 < len(words) else ""
        if following not in ("run", "-h", "--help"):
            print(
                f"hxbus: '{words[at]}' alone is deprecated: use '{words[at]} run'", file=sys.stderr
            )
            words.insert(at + 1, "run")
    return words


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(with_run(sys.argv[1:] if argv is None else argv))
    try:
        settings = Settings()
    except Exception as exc:  # pydantic-settings raises ValidationError naming the variable
        print(f"hxbus: bad HX_ settings: {exc}", file=sys.stderr)
        return ExitCode.UNREADABLE
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
        return exit_code(exc)
    except HxError as exc:
        print(f"hxbus: {type(exc).__name__}: {exc}", file=sys.stderr)
        return exit_code(exc)
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
        return ExitCode.INVALID
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
