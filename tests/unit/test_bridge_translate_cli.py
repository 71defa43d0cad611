"""``hxbus bridge translate``: local bytes or JSON events out, problems by line, exit status."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from hx_bridge_support import GOLDEN, golden_event

from hxbus.cli import main
from schemas import render_event


@pytest.fixture(autouse=True)
def _repository_agreement(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every case reads the repository's agreement, whatever the environment says."""
    monkeypatch.delenv("HX_AGREEMENT", raising=False)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """main() points structlog at this test's captured stderr; later tests must not log there."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def translate(province: str, direction: str, path: Path | str) -> int:
    return main(
        ["bridge", "translate", "--province", province, "--direction", direction, str(path)]
    )


@pytest.mark.parametrize(("province", "name"), [("JS", "PersonAlert"), ("AH", "AlertHit")])
def test_inbound_prints_the_local_bytes(
    province: str, name: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """An exchange event prints as its local golden bytes; stderr names file and losses."""
    folder = "jiangsu" if province == "JS" else "anhui"
    status = translate(province, "inbound", GOLDEN / folder / f"{name}.exchange.json")
    out, err = capsysbinary.readouterr()
    message_id = golden_event(folder, name).envelope.message_id
    local = (GOLDEN / folder / f"{name}.local.json").read_bytes()
    expected_err = f"line 1: {message_id}.json: truncated: nothing; dropped: nothing\n"
    assert (0, local + b"\n", expected_err.encode()) == (status, out, err)


def test_inbound_reports_what_was_dropped(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """A Jiangsu translation of an alert with share_with lists it on stderr as dropped."""
    event = json.loads((GOLDEN / "jiangsu" / "VehicleAlert.exchange.json").read_text("utf-8"))
    event["data"].update(handling="NEED_TO_KNOW", share_with=["320300000000"], reason="涉嫌盗窃")
    path = tmp_path / "alert.json"
    path.write_text(json.dumps(event, ensure_ascii=False), encoding="utf-8")
    status = translate("JS", "inbound", path)
    err = capsysbinary.readouterr().err.decode()
    expected = f"line 1: {event['id']}.json: truncated: nothing; dropped: reason, share_with\n"
    assert (0, expected) == (status, err)


def test_inbound_invalid_event_is_reported_by_line(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """NDJSON with a good and a bad event: the good one prints, the bad one is named; exit 1."""
    good = json.loads((GOLDEN / "anhui" / "AlertHit.exchange.json").read_text("utf-8"))
    bad = {**good, "data": {**good["data"], "priority": "SOON"}}
    path = tmp_path / "events.ndjson"
    lines = [json.dumps(e, ensure_ascii=False) for e in (good, bad)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status = translate("AH", "inbound", path)
    out, err = capsysbinary.readouterr()
    local = (GOLDEN / "anhui" / "AlertHit.local.json").read_bytes() + b"\n"
    expected_err = [
        f"line 1: {good['id']}.json: truncated: nothing; dropped: nothing",
        "line 2: data.priority: must be IMMEDIATE, URGENT or ROUTINE",
    ]
    assert (1, local, expected_err) == (status, out, err.decode().splitlines())


@pytest.mark.parametrize(("province", "name"), [("JS", "AssistanceRequest"), ("AH", "PersonAlert")])
def test_outbound_prints_the_json_form(
    province: str, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A local golden prints as its exchange event in the JSON form; exit 0, nothing on stderr."""
    folder = "jiangsu" if province == "JS" else "anhui"
    status = translate(province, "outbound", GOLDEN / folder / f"{name}.local.json")
    out, err = capsys.readouterr()
    expected = (0, render_event(golden_event(folder, name)), "")
    assert expected == (status, json.loads(out), err)


def test_outbound_local_format_error_names_key_and_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Jiangsu file with an unknown sex code prints `line 1: SJ.XB: …` and exits 1."""
    document = json.loads((GOLDEN / "jiangsu" / "PersonAlert.local.json").read_text("utf-8"))
    document["SJ"]["XB"] = "7"
    path = tmp_path / "out.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    status = translate("JS", "outbound", path)
    out, err = capsys.readouterr()
    assert (1, "", "line 1: SJ.XB: not a code of this local format\n") == (status, out, err)


def test_outbound_contract_violation_names_the_exchange_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An Anhui id_no with a wrong check character fails validation, named by its path."""
    document = json.loads((GOLDEN / "anhui" / "PersonAlert.local.json").read_text("utf-8"))
    document["payload"]["id_no"] = "341302198509140011"
    path = tmp_path / "out.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    status = translate("AH", "outbound", path)
    out, err = capsys.readouterr()
    expected_err = (
        "line 1: data.subject.id_number: "
        "the check character (18th) does not match the first 17 (GB 11643)\n"
    )
    assert (1, "", expected_err) == (status, out, err)


def test_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that does not exist is exit status 2 with the reason on stderr."""
    status = translate("AH", "outbound", tmp_path / "missing.json")
    err = capsys.readouterr().err
    missing = tmp_path / "missing.json"
    expected = f"hxbus bridge translate: {missing}: cannot read: No such file or directory\n"
    assert (2, expected) == (status, err)


def test_unknown_province_is_a_configuration_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A province the agreement does not have is exit status 2, the option and the rule
    named; a province's name or profile instead of its key is refused with its key."""
    unknown = translate("zhejiang", "inbound", "-")
    unknown_err = capsys.readouterr().err
    named = translate("jiangsu", "inbound", "-")
    named_err = capsys.readouterr().err
    rule = (
        "hxbus: --province: {!r} is not a province key of the agreement; a key is the two "
        "capital letters of a [provinces.XX] table, one of AH, HA, JS, SD"
    )
    assert (
        (2, rule.format("zhejiang") + "\n"),
        (2, rule.format("jiangsu") + " ('jiangsu' is province JS: give its key)\n"),
    ) == ((unknown, unknown_err), (named, named_err))
