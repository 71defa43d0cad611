"""The exit status of every ``hxbus`` command, from one enum.

Commands return one of these; errors that reach the entry point are mapped here, once,
from the error tree (``schemas.errors``), so that a script can tell "fix the input" from
"try again later" from "ask for access" by the number alone. ``hxbus --help`` lists them.
"""

from __future__ import annotations

from enum import IntEnum

from schemas.errors import (
    BrokerError,
    ConfigError,
    HxError,
    NotAuthorized,
    SinkUnavailable,
    UnreadableInput,
)


class ExitCode(IntEnum):
    """What a command's exit status means."""

    OK = 0
    #: An event broke a rule, a check failed, a named item does not exist.
    INVALID = 1
    #: A file or the settings could not be read at all, or the command line was wrong
    #: (argparse's own usage errors are 2 too).
    UNREADABLE = 2
    #: The broker (or a local system, or a cluster the command needs) did not answer.
    UNAVAILABLE = 3
    #: The broker refused the login or the operation (authentication, ACL).
    NOT_AUTHORISED = 4


#: One line each, for ``hxbus --help``.
MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "ok",
    ExitCode.INVALID: "invalid input or a failed check",
    ExitCode.UNREADABLE: "unreadable input or settings, or a usage error",
    ExitCode.UNAVAILABLE: "broker or service unavailable",
    ExitCode.NOT_AUTHORISED: "not authorised (login or ACL refused)",
}


def exit_code(error: HxError) -> ExitCode:
    """The status a command ends with when ``error`` reaches the entry point."""
    # NotAuthorized is a BrokerError: the more specific class first.
    if isinstance(error, NotAuthorized):
        return ExitCode.NOT_AUTHORISED
    if isinstance(error, BrokerError | SinkUnavailable):
        return ExitCode.UNAVAILABLE
    if isinstance(error, ConfigError | UnreadableInput):
        return ExitCode.UNREADABLE
    return ExitCode.INVALID


def epilog() -> str:
    """The exit-status table of ``hxbus --help``."""
    rows = [(str(code.value), MEANINGS[code]) for code in ExitCode]
    rows += [("130", "interrupted (SIGINT)"), ("141", "the reader of standard output went away")]
    return "exit status:\n" + "\n".join(f"  {code:<4} {meaning}" for code, meaning in rows)
