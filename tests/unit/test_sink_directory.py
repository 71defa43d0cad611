"""The directory sink: atomic files named by message id, duplicates, conflicts, syncs."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

import bridge.durable_files
from bridge.profiles.base import LocalMessage
from bridge.runner import SinkChoice
from bridge.sinks import DeliveryOutcome, DirectorySink
from schemas import DEFAULT_AGREEMENT_PATH, Envelope, parse_agreement
from schemas.errors import ConfigError, SinkConflict, SinkRejected, SinkUnavailable

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


def test_nothing_is_visible_before_the_batch_is_flushed(tmp_path: Path) -> None:
    """Delivered files get their names only at flush, even once their writes are done on
    the writes' thread: a failed batch is never half seen."""
    sink = DirectorySink(tmp_path)
    sink.deliver(message(b"a", "a.json"), envelope())
    sink.deliver(message(b"b", "b.json"), envelope())
    assert sink.writes.wait() is None  # both files written, under temporary names
    inbox = tmp_path / "inbox"
    before = (visible_files(inbox), sorted((inbox / n).read_bytes() for n in hidden_files(inbox)))
    sink.flush()
    assert (([], [b"a", b"b"]), ["a.json", "b.json"], []) == (
        before,
        visible_files(inbox),
        hidden_files(inbox),
    )


@pytest.mark.parametrize("flush_between", [False, True], ids=["same-batch", "later-batch"])
def test_redelivery_with_identical_bytes_is_a_duplicate(
    tmp_path: Path, flush_between: bool
) -> None:
    """The same message delivered twice leaves one file and reports the second as duplicate."""
    sink = DirectorySink(tmp_path)
    sink.deliver(message(b"same"), envelope())
    if flush_between:
        sink.flush()
    result = sink.deliver(message(b"same"), envelope())
    sink.flush()
    assert DeliveryOutcome.DUPLICATE == result.outcome
    assert [f"{MESSAGE_ID}.json"] == visible_files(tmp_path / "inbox")


@pytest.mark.parametrize("flush_between", [False, True], ids=["same-batch", "later-batch"])
def test_same_name_with_different_bytes_is_a_conflict_for_the_dlq(
    tmp_path: Path, flush_between: bool
) -> None:
    """Different bytes under an existing message id raise SinkConflict and keep the old file."""
    sink = DirectorySink(tmp_path)
    sink.deliver(message(b"first version"), envelope())
    if flush_between:
        sink.flush()
    with pytest.raises(SinkConflict) as caught:
        sink.deliver(message(b"second version"), envelope())
    sink.flush()
    error = caught.value
    assert (False, "sink_conflict", True) == (
        error.retriable,
        error.reason,
        "different content" in str(error),
    )
    assert b"first version" == (tmp_path / "inbox" / f"{MESSAGE_ID}.json").read_bytes()


def test_a_file_another_worker_named_meanwhile_is_compared_at_flush(tmp_path: Path) -> None:
    """Two workers of one group across a rebalance: the same bytes pass, others conflict."""
    sink = DirectorySink(tmp_path)
    sink.deliver(message(b"mine", "same.json"), envelope())
    sink.deliver(message(b"mine", "other.json"), envelope())
    (tmp_path / "inbox" / "same.json").write_bytes(b"mine")
    (tmp_path / "inbox" / "other.json").write_bytes(b"theirs")
    with pytest.raises(SinkConflict):
        sink.flush()
    inbox = tmp_path / "inbox"
    assert (b"mine", b"theirs", []) == (
        (inbox / "same.json").read_bytes(),
        (inbox / "other.json").read_bytes(),
        hidden_files(inbox),
    )


def test_crash_before_naming_leaves_only_a_dot_file_cleaned_at_next_start(
    tmp_path: Path,
) -> None:
    """A crash after the write, before flush names the file: nothing visible; a restart
    removes the leftover once it is old, and the message delivered again is whole."""
    crashed = DirectorySink(tmp_path)
    crashed.deliver(message(b"full content"), envelope())
    crashed.writes.wait()  # the file written; then kill -9: no flush
    inbox = tmp_path / "inbox"
    leftovers = hidden_files(inbox)
    assert ([], 1) == (visible_files(inbox), len(leftovers))
    assert b"full content" == (inbox / leftovers[0]).read_bytes()

    beside = DirectorySink(tmp_path)  # a worker starting now: the file may be in progress
    assert (0, leftovers) == (beside.removed_leftovers, hidden_files(inbox))
    restarted = DirectorySink(tmp_path, leftover_age_s=0.0)
    assert (1, []) == (restarted.removed_leftovers, hidden_files(inbox))
    result = restarted.deliver(message(b"full content"), envelope())
    restarted.flush()
    assert (DeliveryOutcome.DELIVERED, [f"{MESSAGE_ID}.json"]) == (
        result.outcome,
        visible_files(inbox),
    )


def _disk_full_at(monkeypatch: pytest.MonkeyPatch, failing: set[int]) -> list[int]:
    """``os.write`` refuses (ENOSPC) the writes numbered in ``failing`` (from 1); returns
    the numbers of the writes tried so far."""
    tried: list[int] = []
    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        tried.append(len(tried) + 1)
        if tried[-1] in failing:
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    return tried


def test_a_write_the_disk_refuses_fails_the_batch_at_flush_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk (ENOSPC) at the second file of three: deliver takes all three (the
    write is the writes' thread's), flush raises SinkUnavailable (retriable, so the
    runtime rewinds the batch), and nothing is named or left behind."""
    sink = DirectorySink(tmp_path)
    _disk_full_at(monkeypatch, {2})
    outcomes = [
        sink.deliver(message(n, f"{n.decode()}.json"), envelope()) for n in (b"a", b"b", b"c")
    ]
    with pytest.raises(SinkUnavailable) as caught:
        sink.flush()
    assert ([DeliveryOutcome.DELIVERED] * 3, True, True, []) == (
        [o.outcome for o in outcomes],
        caught.value.retriable,
        str(caught.value).endswith(".tmp: No space left on device"),
        os.listdir(tmp_path / "inbox"),
    )


def test_the_batch_delivered_again_after_a_failed_write_is_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a batch failed on a write, the same messages delivered again (the runtime's
    rewind) are written whole, each once: the old failure is not reported again."""
    sink = DirectorySink(tmp_path)
    _disk_full_at(monkeypatch, {1})
    batch = [message(n, f"{n.decode()}.json") for n in (b"a", b"b", b"c")]
    for m in batch:
        sink.deliver(m, envelope())
    with pytest.raises(SinkUnavailable):
        sink.flush()
    outcomes = [sink.deliver(m, envelope()).outcome for m in batch]
    sink.flush()
    inbox = tmp_path / "inbox"
    assert ([DeliveryOutcome.DELIVERED] * 3, ["a.json", "b.json", "c.json"], []) == (
        outcomes,
        visible_files(inbox),
        hidden_files(inbox),
    )
    assert [b"a", b"b", b"c"] == [(inbox / m.file_name).read_bytes() for m in batch]


def test_a_failure_that_is_not_the_disks_reaches_flush_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error in a write (a bug, not the disk) is raised by flush unchanged,
    and its batch leaves no file."""
    sink = DirectorySink(tmp_path)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ValueError("test: a bug in the write")

    monkeypatch.setattr("bridge.sinks.background_writes.write_unsynced", broken)
    sink.deliver(message(), envelope())
    with pytest.raises(ValueError, match="a bug in the write"):
        sink.flush()
    assert [] == os.listdir(tmp_path / "inbox")


def test_close_finishes_the_queued_writes_and_stops_their_thread(tmp_path: Path) -> None:
    """A sink closed without a flush has its queued file written (a dot-file, as a crash
    leaves it) and no writer thread left running."""
    sink = DirectorySink(tmp_path)
    before = set(threading.enumerate())
    sink.deliver(message(b"late"), envelope())
    started = set(threading.enumerate()) - before
    sink.close()
    inbox = tmp_path / "inbox"
    assert (["hx-sink-writes"], [], [], [b"late"]) == (
        [t.name for t in started],
        [t.name for t in started if t.is_alive()],
        visible_files(inbox),
        [(inbox / n).read_bytes() for n in hidden_files(inbox)],
    )


def test_a_failed_sync_names_nothing_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk refuses at flush: SinkUnavailable (retriable), no file visible, none left."""
    sink = DirectorySink(tmp_path)
    sink.deliver(message(), envelope())

    def io_error(*_args: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("bridge.sinks.directory.sync_filesystem", io_error)
    with pytest.raises(SinkUnavailable) as caught:
        sink.flush()
    assert (True, []) == (caught.value.retriable, os.listdir(tmp_path / "inbox"))


def _count_syncs(monkeypatch: pytest.MonkeyPatch, syncfs_available: bool) -> list[str]:
    """Record each fsync (of a file or a dir) and each syncfs the sink asks for."""
    kinds: list[str] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        kinds.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    def counting_syncfs(fd: int) -> int:
        kinds.append("syncfs")
        return 0

    monkeypatch.setattr(os, "fsync", counting_fsync)
    monkeypatch.setattr(
        bridge.durable_files, "_syncfs", lambda: counting_syncfs if syncfs_available else None
    )
    return kinds


@pytest.mark.parametrize(
    ("syncfs_available", "expected"),
    [(True, ["syncfs", "dir"]), (False, ["file", "file", "file", "dir"])],
    ids=["linux-syncfs", "fsync-per-file"],
)
def test_sync_policy_is_one_data_sync_and_one_directory_fsync_per_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, syncfs_available: bool, expected: list[str]
) -> None:
    """Three files and one flush: one syncfs (or three file fsyncs where there is none),
    then one inbox fsync; a flush with nothing delivered since syncs nothing."""
    sink = DirectorySink(tmp_path)
    kinds = _count_syncs(monkeypatch, syncfs_available)
    for number in range(3):
        sink.deliver(message(b"x", f"m{number}.json"), envelope())
    sink.flush()
    sink.flush()
    assert expected == kinds


def test_a_batch_of_duplicates_still_fsyncs_the_inbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file found on disk may be one a crash named before the inbox fsync: the batch that
    found it fsyncs the inbox (no data sync: nothing new was written) before it commits."""
    earlier = DirectorySink(tmp_path)
    earlier.deliver(message(b"same"), envelope())
    earlier.flush()
    sink = DirectorySink(tmp_path)
    kinds = _count_syncs(monkeypatch, syncfs_available=True)
    result = sink.deliver(message(b"same"), envelope())
    sink.flush()
    assert (DeliveryOutcome.DUPLICATE, ["dir"]) == (result.outcome, kinds)


def test_the_real_syncfs_is_found_on_linux() -> None:
    """On Linux the one-per-batch data sync is libc's syncfs, not the per-file fallback."""
    assert (os.uname().sysname == "Linux") == (bridge.durable_files._syncfs() is not None)


@pytest.mark.parametrize("name", ["../escape.json", "sub/dir.json", ".hidden.json", ""])
def test_file_names_outside_the_inbox_are_rejected(tmp_path: Path, name: str) -> None:
    """A file name that is not a plain visible name is refused (DLQ), never written."""
    sink = DirectorySink(tmp_path)
    with pytest.raises(SinkRejected):
        sink.deliver(message(name=name), envelope())
    assert [] == os.listdir(tmp_path / "inbox")


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_delivered_files_are_0640_and_the_inbox_0750_whatever_the_umask(
    tmp_path: Path, umask: int
) -> None:
    """Files and inbox get the agreement's default modes, not the process umask's."""
    previous = os.umask(umask)
    try:
        sink = DirectorySink(tmp_path)
        sink.deliver(message(b"payload"), envelope())
        sink.flush()
    finally:
        os.umask(previous)
    inbox = tmp_path / "inbox"
    modes = (
        stat.S_IMODE(inbox.stat().st_mode),
        stat.S_IMODE((inbox / f"{MESSAGE_ID}.json").stat().st_mode),
    )
    assert (0o750, 0o640) == modes


def test_a_province_chooses_other_modes_in_the_agreement(tmp_path: Path) -> None:
    """``inbox_file_mode``/``inbox_dir_mode`` of the province reach the sink the bridge builds."""
    text = DEFAULT_AGREEMENT_PATH.read_text(encoding="utf-8").replace(
        'profile = "henan"\n',
        'profile = "henan"\ninbox_file_mode = "0600"\ninbox_dir_mode = "0700"\n',
    )
    agreement = parse_agreement(text)
    sink = SinkChoice("directory", root=tmp_path).build(province="HA", agreement=agreement)
    sink.deliver(message(b"payload"), envelope())
    sink.flush()
    inbox = tmp_path / "inbox"
    modes = (
        stat.S_IMODE(inbox.stat().st_mode),
        stat.S_IMODE((inbox / f"{MESSAGE_ID}.json").stat().st_mode),
    )
    assert (0o700, 0o600) == modes


@pytest.mark.parametrize("mode", ["0644", "0755", "777", "rw-r-----"])
def test_an_agreement_mode_open_to_others_or_not_octal_is_refused(mode: str) -> None:
    """A mode that lets every user of the host read personal data is a ConfigError."""
    text = DEFAULT_AGREEMENT_PATH.read_text(encoding="utf-8").replace(
        'profile = "henan"\n', f'profile = "henan"\ninbox_file_mode = "{mode}"\n'
    )
    with pytest.raises(ConfigError) as refused:
        parse_agreement(text)
    assert "provinces.HA.inbox_file_mode" in str(refused.value)


def _count_fchmods(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    modes: list[int] = []
    real_fchmod = os.fchmod

    def counting_fchmod(fd: int, mode: int) -> None:
        modes.append(mode)
        real_fchmod(fd, mode)

    monkeypatch.setattr(os, "fchmod", counting_fchmod)
    return modes


@pytest.mark.parametrize(
    ("umask", "fchmods"), [(0o027, []), (0o077, [0o640])], ids=["umask-keeps", "umask-narrows"]
)
def test_the_mode_is_set_explicitly_only_when_the_umask_would_change_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask: int, fchmods: list[int]
) -> None:
    """A umask that leaves 0640 whole needs no fchmod; one that narrows it gets one."""
    previous = os.umask(umask)
    try:
        sink = DirectorySink(tmp_path)
        modes = _count_fchmods(monkeypatch)
        sink.deliver(message(b"payload"), envelope())
        sink.flush()
    finally:
        os.umask(previous)
    written = stat.S_IMODE((tmp_path / "inbox" / f"{MESSAGE_ID}.json").stat().st_mode)
    assert (fchmods, 0o640) == (modes, written)


def test_the_umask_is_read_again_for_each_batch(tmp_path: Path) -> None:
    """A umask changed between two batches still cannot change the files' mode."""
    previous = os.umask(0o022)
    try:
        sink = DirectorySink(tmp_path)
        sink.deliver(message(b"a", "a.json"), envelope())
        sink.flush()
        os.umask(0o077)
        sink.deliver(message(b"b", "b.json"), envelope())
        sink.flush()
    finally:
        os.umask(previous)
    inbox = tmp_path / "inbox"
    modes = [stat.S_IMODE((inbox / name).stat().st_mode) for name in ("a.json", "b.json")]
    assert [0o640, 0o640] == modes


def test_umask_keeps_reads_the_process_umask() -> None:
    """umask_keeps says whether the umask, as it is now, leaves every bit of the mode."""
    previous = os.umask(0o027)
    try:
        keeps = (bridge.durable_files.umask_keeps(0o640), bridge.durable_files.umask_keeps(0o660))
    finally:
        os.umask(previous)
    assert (True, False) == keeps


def test_two_workers_writing_one_name_use_two_temporary_files(tmp_path: Path) -> None:
    """Sinks sharing an inbox never share a temporary name: both writes are whole, the
    second named file is a duplicate of the first."""
    first, second = DirectorySink(tmp_path), DirectorySink(tmp_path)
    first.deliver(message(b"same"), envelope())
    second.deliver(message(b"same"), envelope())
    first.writes.wait()
    second.writes.wait()
    temporaries = hidden_files(tmp_path / "inbox")
    first.flush()
    second.flush()
    inbox = tmp_path / "inbox"
    assert (2, [f"{MESSAGE_ID}.json"], b"same", []) == (
        len(set(temporaries)),
        visible_files(inbox),
        (inbox / f"{MESSAGE_ID}.json").read_bytes(),
        hidden_files(inbox),
    )
