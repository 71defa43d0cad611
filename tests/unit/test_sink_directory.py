"""The directory sink: atomic files named by message id, duplicates, conflicts, fsyncs."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bridge.profiles.base import LocalMessage
from bridge.sinks import DeliveryOutcome, DirectorySink
from schemas import Envelope
from schemas.errors import SinkConflict, SinkRejected, SinkUnavailable

MESSAGE_ID = "6f1c1d7e-2b1a-4c55-9a51-0c7e3f4f9a10"


class SimulatedCrash(BaseException):
    """Stands for kill -9: no ``except Exception`` and no cleanup of ours runs."""


def message(content: bytes = b'{"XXBH": "6f1c"}', name: str = f"{MESSAGE_ID}.json") -> LocalMessage:
    return LocalMessage(name, content, "application/json; charset=utf-8")


def envelope() -> Envelope:
    return Envelope(event_type="PersonAlert", source="320300000000", message_id=MESSAGE_ID)


def visible_files(inbox: Path) -> list[str]:
    return sorted(p.name for p in inbox.iterdir() if not p.name.startswith("."))


def hidden_files(inbox: Path) -> list[str]:
    return sorted(p.name for p in inbox.iterdir() if p.name.startswith("."))


def test_delivers_exact_bytes_under_the_message_file_name(tmp_path: Path) -> None:
    """A delivered message is one file named by its id, holding exactly the local bytes."""
    sink = DirectorySink(tmp_path)
    result = sink.deliver(message(b"payload-1"), envelope())
    sink.flush()
    assert (DeliveryOutcome.DELIVERED, "directory", f"{MESSAGE_ID}.json") == (
        result.outcome,
        result.sink,
        result.destination,
    )
    assert b"payload-1" == (tmp_path / "inbox" / f"{MESSAGE_ID}.json").read_bytes()
    assert [] == hidden_files(tmp_path / "inbox")


def test_redelivery_with_identical_bytes_is_a_duplicate(tmp_path: Path) -> None:
    """The same message delivered twice leaves one file and reports the second as duplicate."""
    sink = DirectorySink(tmp_path)
    sink.deliver(message(b"same"), envelope())
    result = sink.deliver(message(b"same"), envelope())
    assert DeliveryOutcome.DUPLICATE == result.outcome
    assert [f"{MESSAGE_ID}.json"] == visible_files(tmp_path / "inbox")


def test_same_name_with_different_bytes_is_a_conflict_for_the_dlq(tmp_path: Path) -> None:
    """Different bytes under an existing message id raise SinkConflict and keep the old file."""
    sink = DirectorySink(tmp_path)
    sink.deliver(message(b"first version"), envelope())
    with pytest.raises(SinkConflict) as caught:
        sink.deliver(message(b"second version"), envelope())
    error = caught.value
    assert (False, "sink_conflict", True) == (
        error.retriable,
        error.reason,
        "different content" in str(error),
    )
    assert b"first version" == (tmp_path / "inbox" / f"{MESSAGE_ID}.json").read_bytes()


def test_crash_between_write_and_rename_leaves_only_a_dot_file_cleaned_at_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash before naming shows nothing; a restart removes the leftover once it is old."""
    sink = DirectorySink(tmp_path)

    def crash(*_args: object) -> None:
        raise SimulatedCrash

    with monkeypatch.context() as patch:
        patch.setattr(os, "link", crash)
        with pytest.raises(SimulatedCrash):
            sink.deliver(message(b"full content"), envelope())
    inbox = tmp_path / "inbox"
    leftovers = hidden_files(inbox)
    assert ([], 1) == (visible_files(inbox), len(leftovers))
    assert b"full content" == (inbox / leftovers[0]).read_bytes()

    beside = DirectorySink(tmp_path)  # a worker starting now: the file may be in progress
    assert (0, leftovers) == (beside.removed_leftovers, hidden_files(inbox))
    restarted = DirectorySink(tmp_path, leftover_age_s=0.0)
    assert (1, []) == (restarted.removed_leftovers, hidden_files(inbox))
    result = restarted.deliver(message(b"full content"), envelope())
    assert (DeliveryOutcome.DELIVERED, [f"{MESSAGE_ID}.json"]) == (
        result.outcome,
        visible_files(inbox),
    )


def test_write_failure_is_retriable_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk (ENOSPC) raises SinkUnavailable and removes its temporary file."""
    sink = DirectorySink(tmp_path)

    def disk_full(*_args: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full)
    with pytest.raises(SinkUnavailable) as caught:
        sink.deliver(message(), envelope())
    assert (True, []) == (caught.value.retriable, os.listdir(tmp_path / "inbox"))


def test_fsync_policy_is_one_per_file_and_one_directory_fsync_per_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three files and one flush cost three file fsyncs and one inbox fsync."""
    sink = DirectorySink(tmp_path)
    kinds: list[str] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        kinds.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    for number in range(3):
        sink.deliver(message(b"x", f"m{number}.json"), envelope())
    sink.flush()
    sink.flush()  # nothing delivered since: no second directory fsync
    assert ["file", "file", "file", "dir"] == kinds


@pytest.mark.parametrize("name", ["../escape.json", "sub/dir.json", ".hidden.json", ""])
def test_file_names_outside_the_inbox_are_rejected(tmp_path: Path, name: str) -> None:
    """A file name that is not a plain visible name is refused (DLQ), never written."""
    sink = DirectorySink(tmp_path)
    with pytest.raises(SinkRejected):
        sink.deliver(message(name=name), envelope())
    assert [] == os.listdir(tmp_path / "inbox")
