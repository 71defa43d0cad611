"""``hxbus simulate --dry-run``: NDJSON of valid events, the same bytes for the same seed."""

from __future__ import annotations

import itertools
import json

import pytest

from hxbus.cli import build_parser
from runtime import Settings
from schemas import Agreement, parse_event

START = "2026-11-20T09:30:00+08:00"


def run(*argv: str) -> int:
    """The command's handler, without main()'s logging set-up (global, cached by structlog)."""
    args = build_parser().parse_args(argv)
    status: int = args.handler(args, Settings())
    return status


def dry_run(capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str]:
    status = run("simulate", "--dry-run", "--start", START, *options)
    return status, capsys.readouterr().out


def test_same_seed_prints_the_same_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    """Two dry runs with one seed and start print identical NDJSON."""
    first = dry_run(capsys, "--rate", "50", "--duration", "4", "--seed", "7")
    second = dry_run(capsys, "--rate", "50", "--duration", "4", "--seed", "7")
    assert (0, first[1]) == (second[0], second[1])


def test_another_seed_prints_other_events(capsys: pytest.CaptureFixture[str]) -> None:
    """Another seed: other events."""
    _, seven = dry_run(capsys, "--rate", "10", "--duration", "1", "--seed", "7")
    _, eight = dry_run(capsys, "--rate", "10", "--duration", "1", "--seed", "8")
    assert seven != eight


def test_rate_times_duration_events_each_valid(
    capsys: pytest.CaptureFixture[str], agreement: Agreement
) -> None:
    """--rate 40 --duration 5 prints 200 lines, each a valid JSON event, spaced 25 ms."""
    status, out = dry_run(capsys, "--rate", "40", "--duration", "5", "--seed", "3")
    events = [parse_event(json.loads(line), agreement) for line in out.splitlines()]
    gaps = {
        (b.envelope.created_at - a.envelope.created_at).total_seconds()
        for a, b in itertools.pairwise(events)
    }
    assert (0, 200, {0.025}) == (status, len(events), gaps)


def test_start_without_offset_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """A --start without a time zone offset is a usage error (exit 2), not a guess."""
    with pytest.raises(SystemExit) as exited:
        run(
            "simulate", "--dry-run", "--rate", "1", "--duration", "1", "--start", "2026-11-20T09:30"
        )
    assert 2 == exited.value.code
    assert "offset" in capsys.readouterr().err
