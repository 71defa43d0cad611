"""One command grammar: ``hxbus <role> run`` with the same options for every role, exit
statuses from one enum listed in ``hxbus --help``, help texts without double backticks."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consumers.tracker import Expectation, TrackerStore
from hxbus.cli import build_parser, with_run
from hxbus.console.principal import AUDITOR, Principal
from hxbus.console.requests_view import read_requests
from hxbus.exit_codes import MEANINGS, ExitCode, exit_code
from schemas.errors import (
    AuthorityRefused,
    BrokerError,
    BrokerUnavailable,
    ConfigError,
    HxError,
    NotAuthorized,
    SinkUnavailable,
    TranslationError,
    UnreadableInput,
    ValidationFailed,
)

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "fixtures" / "events"

#: Every long-running role, as started (with what it needs besides the common options).
ROLES = (
    ["bridge", "run", "--province", "JS"],
    ["tracker", "run"],
    ["alert-register", "run"],
    ["lookup-service", "run"],
)


@pytest.mark.parametrize("role", ROLES, ids=lambda argv: argv[0])
def test_every_role_run_takes_the_common_options(role: list[str]) -> None:
    """``--group``, ``--until-idle S`` and ``--metrics-port`` parse alike for every role."""
    args = build_parser().parse_args(
        [*role, "--group", "g-test", "--until-idle", "2.5", "--metrics-port", "9999"]
    )
    assert ("g-test", 2.5, 9999) == (args.group, args.until_idle, args.metrics_port)


@pytest.mark.parametrize("role", ROLES, ids=lambda argv: argv[0])
@pytest.mark.parametrize("old", ["--max-idle", "--idle-timeout"])
def test_old_idle_spellings_still_work_with_a_note(
    role: list[str], old: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--max-idle S`` and ``--idle-timeout S`` set ``--until-idle`` and say so."""
    args = build_parser().parse_args([*role, old, "4"])
    assert (4.0, f"hxbus: {old} is deprecated: use --until-idle\n") == (
        args.until_idle,
        capsys.readouterr().err,
    )


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_until_idle_must_be_positive_seconds(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--until-idle 0`` (or not a number) is a usage error, status 2, naming the option."""
    with pytest.raises(SystemExit) as ended:
        build_parser().parse_args(["tracker", "run", "--until-idle", value])
    assert (2, True) == (ended.value.code, "argument --until-idle" in capsys.readouterr().err)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["alert-register", "--until-idle", "2"], ["alert-register", "run", "--until-idle", "2"]),
        (["--log-level", "INFO", "lookup-service"], ["--log-level", "INFO", "lookup-service", "run"]),  # noqa: E501
        (["alert-register", "run"], ["alert-register", "run"]),
        (["alert-register", "--help"], ["alert-register", "--help"]),
        (["tracker", "run"], ["tracker", "run"]),
    ],
)  # fmt: skip
def test_roles_without_run_get_it_added(argv: list[str], expected: list[str]) -> None:
    """The old ``alert-register`` / ``lookup-service`` spellings become ``... run``."""
    assert expected == with_run(argv)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ValidationFailed([]), ExitCode.INVALID),
        (AuthorityRefused("issuer_only", "not the issuer"), ExitCode.INVALID),
        (TranslationError("x"), ExitCode.INVALID),
        (HxError("x"), ExitCode.INVALID),
        (UnreadableInput("x"), ExitCode.UNREADABLE),
        (ConfigError("x"), ExitCode.UNREADABLE),
        (BrokerUnavailable("x"), ExitCode.UNAVAILABLE),
        (BrokerError("x"), ExitCode.UNAVAILABLE),
        (SinkUnavailable("x"), ExitCode.UNAVAILABLE),
        (NotAuthorized("x"), ExitCode.NOT_AUTHORISED),
    ],
    ids=lambda value: type(value).__name__,
)
def test_each_error_maps_to_one_status(error: HxError, status: ExitCode) -> None:
    """The error tree maps to the five statuses; NotAuthorized before BrokerError."""
    assert status == exit_code(error)


def _hxbus(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hxbus", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_lists_the_exit_statuses() -> None:
    """``hxbus --help`` ends with the exit-status table, one line per status of the enum."""
    help_text = _hxbus("--help").stdout
    listed = [f"  {code.value:<4} {MEANINGS[code]}" for code in ExitCode]
    assert listed == [line for line in help_text.splitlines() if line in listed]


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path of the parser tree (argparse keeps sub-parsers in its actions)."""
    found = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _parsers(child, (*path, name))
    return found


def test_no_help_text_shows_double_backticks(capsys: pytest.CaptureFixture[str]) -> None:
    """Every ``--help`` of every command renders the docstrings' ``code`` as plain text."""
    with_marks = []
    for path in _parsers(build_parser()):
        with pytest.raises(SystemExit):
            build_parser().parse_args([*path, "--help"])
        if "``" in capsys.readouterr().out:
            with_marks.append(" ".join(path))
    assert [] == with_marks


def test_bad_input_exits_1() -> None:
    """An event that breaks a rule: status 1, the rule named."""
    done = _hxbus("validate", str(EVENTS / "invalid" / "person_alert_bad_check_character.json"))
    assert (1, True) == (done.returncode, "data.subject.id_number: the check" in done.stdout)


def test_unreadable_file_exits_2(tmp_path: Path) -> None:
    """A file that cannot be read: status 2, named on stderr."""
    missing = tmp_path / "missing.json"
    done = _hxbus("validate", str(missing))
    assert (2, True) == (done.returncode, f"{missing}: cannot read" in done.stderr)


def test_usage_error_exits_2() -> None:
    """A role's ``run`` without a required option is argparse's usage error: status 2."""
    assert 2 == _hxbus("bridge", "run").returncode


def test_a_broker_cluster_that_is_not_running_exits_3(tmp_path: Path) -> None:
    """``hxbus broker status`` with no cluster: status 3, service unavailable."""
    done = _hxbus("broker", "status", HX_STATE_DIR=str(tmp_path))
    assert (3, True) == (done.returncode, "no cluster under" in done.stdout)


def test_requests_json_is_ndjson_in_the_consoles_form(tmp_path: Path) -> None:
    """``hxbus requests --json``: one object a line, the same object the console's
    requests table gets for the item."""
    now = datetime.now(UTC)
    ack_by = now + timedelta(hours=1)
    with TrackerStore.for_group(tmp_path, "hx.tracker") as store:
        for item_id in ("r-1", "r-2"):
            store.expect(
                Expectation(
                    "request", item_id, "370800000000", "320300000000", "URGENT",
                    now - timedelta(minutes=1), ack_by, ack_by + timedelta(hours=4),
                ),
                f"m-{item_id}",
                "{}",
            )  # fmt: skip
        store.commit()
    done = _hxbus("requests", "--json", HX_STATE_DIR=str(tmp_path))
    rows = read_requests(tmp_path, "hx.tracker", Principal(AUDITOR), now)["rows"]
    assert (0, rows) == (done.returncode, [json.loads(line) for line in done.stdout.splitlines()])
