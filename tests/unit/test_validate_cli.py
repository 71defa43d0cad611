"""``hxbus validate``: what it prints per event and its exit status."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hxbus.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"
INVALID = FIXTURES / "invalid"
EXPECTED_ISSUES = tomllib.loads((INVALID / "expected_issues.toml").read_text(encoding="utf-8"))
VALID = sorted(FIXTURES.glob("*.json"))


@pytest.fixture(autouse=True)
def _repository_agreement(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every case reads the repository's agreement, whatever the environment says."""
    monkeypatch.delenv("HX_AGREEMENT", raising=False)


def _ok_line(path: Path) -> str:
    event = json.loads(path.read_text(encoding="utf-8"))
    return f"ok {path}:1 {event['type']} {event['id']}"


def test_valid_fixtures_print_ok_and_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    """Every valid fixture prints one ok line with type and id; exit 0."""
    status = main(["validate", *map(str, VALID)])
    expected = [_ok_line(p) for p in VALID]
    assert (0, expected) == (status, capsys.readouterr().out.splitlines())


@pytest.mark.parametrize("name", sorted(EXPECTED_ISSUES))
def test_broken_variants_print_their_issue_and_exit_1(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each broken variant prints exactly its expected issue after file:line; exit 1."""
    path = INVALID / name
    status = main(["validate", str(path)])
    expected = [f"{path}:1: {issue}" for issue in EXPECTED_ISSUES[name]["issues"]]
    assert (1, expected) == (status, capsys.readouterr().out.splitlines())


def test_every_broken_variant_has_its_expectation() -> None:
    """expected_issues.toml covers every broken variant, each built on a valid fixture."""
    files = {p.name for p in INVALID.glob("*.json")}
    bases = {entry["base"] for entry in EXPECTED_ISSUES.values()}
    assert (files, True) == (set(EXPECTED_ISSUES), bases <= {p.name for p in VALID})


def test_mixed_input_reports_each_event_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An NDJSON file with good and bad events reports each by line; one bad one means 1."""
    good = json.loads((FIXTURES / "alert_hit_huaibei.json").read_text(encoding="utf-8"))
    bad = json.loads((INVALID / "alert_hit_priority_unknown.json").read_text(encoding="utf-8"))
    path = tmp_path / "hits.ndjson"
    path.write_text(f"{json.dumps(good)}\n\n{json.dumps(bad)}\n", encoding="utf-8")
    expected = [
        f"ok {path}:1 AlertHit {good['id']}",
        f"{path}:3: data.priority: must be IMMEDIATE, URGENT or ROUTINE",
    ]
    assert (1, expected) == (main(["validate", str(path)]), capsys.readouterr().out.splitlines())


def test_type_option_refuses_other_types(capsys: pytest.CaptureFixture[str]) -> None:
    """--type PersonAlert accepts person alerts and reports any other type; exit 1."""
    person, vehicle = FIXTURES / "person_alert_xuzhou.json", FIXTURES / "vehicle_alert_jining.json"
    status = main(["validate", "--type", "PersonAlert", str(person), str(vehicle)])
    expected = [
        _ok_line(person),
        f"{vehicle}:1: type: must be PersonAlert (--type), not VehicleAlert",
    ]
    assert (1, expected) == (status, capsys.readouterr().out.splitlines())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe{}\n", "not UTF-8 text (byte 0xff at column 1)"),
        (b"<Message/>\n", "not JSON: Expecting value"),
    ],
)
def test_unreadable_files_exit_2_after_the_readable_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    """A file that is not UTF-8 JSON is reported on stderr; the others are still checked."""
    broken = tmp_path / "broken.json"
    broken.write_bytes(content)
    good = FIXTURES / "person_alert_xuzhou.json"
    status = main(["validate", str(broken), str(good)])
    captured = capsys.readouterr()
    expected = (2, [_ok_line(good)], [f"hxbus validate: {broken}:1: {message}"])
    assert expected == (status, captured.out.splitlines(), captured.err.splitlines())


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that does not exist is unreadable input: exit 2, reason on stderr."""
    path = tmp_path / "absent.json"
    status = main(["validate", str(path)])
    expected = (2, [f"hxbus validate: {path}: cannot read: No such file or directory"])
    assert expected == (status, capsys.readouterr().err.splitlines())


def test_command_line_runs_as_a_process() -> None:
    """``python -m hxbus validate`` prints ok for a valid file and exits 0."""
    path = FIXTURES / "vehicle_alert_shangqiu.json"
    done = subprocess.run(
        [sys.executable, "-m", "hxbus", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (0, f"{_ok_line(path)}\n") == (done.returncode, done.stdout)
