"""``hxbus bench``'s result file is rewritten after every section, and a failing section is
named there with its reason while the earlier sections' figures stay (bench.sections)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.result_file import write_result
from bench.sections import Sections
from schemas.errors import BenchFailed, BrokerUnavailable


def _read(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def test_each_section_is_in_the_file_as_soon_as_it_ends(tmp_path: Path) -> None:
    """After the first section the file holds it, marked incomplete, before the second runs."""
    out = tmp_path / "bench.json"
    run = Sections(lambda _: None, out)
    seen: list[dict[str, Any]] = []
    run.section("publish", "publish", lambda: {"ratio": 0.5})

    def bridge() -> dict[str, int]:
        seen.append(_read(out))  # what a reader finds while the second section runs
        return {"JS": 1}

    run.section("bridge", "bridge", bridge)
    expected = [{"complete": False, "publish": {"ratio": 0.5}}, ["publish", "bridge"]]
    first = seen[0]
    actual = [
        {"complete": first["complete"], "publish": first["publish"]},
        list(_read(out)["section_seconds"]),
    ]
    assert expected == actual


def test_a_failing_section_is_named_with_its_reason_and_the_earlier_ones_kept(
    tmp_path: Path,
) -> None:
    """A section that raises leaves the file with the earlier sections, complete false and
    ``failed`` naming the section and the reason on one line; BenchFailed names it too."""
    out = tmp_path / "bench.json"
    run = Sections(lambda _: None, out)
    run.section("publish", "publish", lambda: {"ratio": 0.5})

    def stalls() -> None:
        raise BrokerUnavailable("the demo's bridges\ndid not catch up")

    with pytest.raises(BenchFailed) as failure:
        run.section("demo", "demo", stalls)
    result = _read(out)
    expected = {
        "message": "section demo failed: the demo's bridges did not catch up",
        "failed": {"section": "demo", "reason": "the demo's bridges did not catch up"},
        "complete": False,
        "publish": {"ratio": 0.5},
        "demo": False,
    }
    actual = {
        "message": str(failure.value),
        "failed": result["failed"],
        "complete": result["complete"],
        "publish": result["publish"],
        "demo": "demo" in result,
    }
    assert expected == actual


def test_an_unexpected_error_is_reported_by_its_class_without_a_traceback(
    tmp_path: Path,
) -> None:
    """An error that is not one of hxbus's own is reported as its class and message."""
    out = tmp_path / "bench.json"
    run = Sections(lambda _: None, out)

    def breaks() -> None:
        raise KeyError("peak_rss_mb")

    with pytest.raises(BenchFailed):
        run.section("memory", "memory", breaks)
    assert {"section": "memory", "reason": "KeyError: 'peak_rss_mb'"} == _read(out)["failed"]


def test_an_interrupted_section_is_saved_as_interrupted(tmp_path: Path) -> None:
    """Ctrl-C (or SIGTERM, which the command turns into it) is re-raised after the file
    says which section was interrupted."""
    out = tmp_path / "bench.json"
    run = Sections(lambda _: None, out)

    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run.section("latency", "latency", interrupted)
    assert {"section": "latency", "reason": "interrupted"} == _read(out)["failed"]


def test_the_result_file_is_replaced_whole_with_no_temporary_file_left(tmp_path: Path) -> None:
    """A rewrite replaces the file by rename: the new content, and nothing else in the
    directory."""
    out = tmp_path / "bench.json"
    write_result(out, {"complete": False})
    write_result(out, {"complete": True})
    assert [{"complete": True}, ["bench.json"]] == [
        _read(out),
        sorted(p.name for p in tmp_path.iterdir()),
    ]
