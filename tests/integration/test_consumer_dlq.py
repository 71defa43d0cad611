"""The DLQ of a consumer group on the real broker: list, show, replay after a fix, exactly once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from consumer_support import (
    REJECT_MARK,
    FileSink,
    encode,
    fresh_topic,
    interleave,
    journal,
    make_events,
    message_files,
    produce,
    rejected_hit,
)

from consumers import (
    Checks,
    ConsumerRuntime,
    DeadLetterQueue,
    DedupeStore,
    RunStats,
    Settlement,
    Subscription,
    read_dead_letters,
)
from hxbus.cli import main
from runtime import Settings
from runtime.kafka import Admin
from schemas import Agreement, Codec

pytestmark = pytest.mark.broker


@pytest.fixture
def sinks() -> Iterator[Callable[..., FileSink]]:
    """``sinks(root, **options)`` makes a FileSink that is closed when the test ends."""
    made: list[FileSink] = []

    def make(root: Path, **options: Any) -> FileSink:
        made.append(FileSink(root, **options))
        return made[-1]

    yield make
    for sink in made:
        sink.close()


@pytest.fixture
def topic(settings: Settings, admin: Admin, unique_name: Callable[..., str]) -> Iterator[str]:
    """A fresh 3-partition topic, deleted with its group's DLQ afterwards."""
    with fresh_topic(settings, admin, unique_name(), 3) as name:
        yield name


def consume(settings: Settings, group: str, topic: str, sink: FileSink, until: int) -> RunStats:
    """Run the runtime until ``until`` messages are done (or 30 s of nothing)."""
    store = DedupeStore.for_group(settings.state_dir, group)
    dlq = DeadLetterQueue(settings, group, replication=1, min_insync_replicas=1)
    runtime = ConsumerRuntime(
        settings,
        Subscription(group, [topic], role="test"),
        sink,
        Checks(Codec(), store),
        Settlement(dlq),
    )
    try:
        return runtime.run(max_messages=until, idle_timeout=30)
    finally:
        store.close()
        dlq.close()


def hxbus(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    state_dir: Path,
    *argv: str,
) -> tuple[int, list[str]]:
    """Run the hxbus command line against the test broker; exit status and stdout lines."""
    monkeypatch.setenv("HX_BOOTSTRAP", settings.bootstrap)
    monkeypatch.setenv("HX_STATE_DIR", str(state_dir))
    # main() configures structlog to print to the sys.stderr of that moment, which pytest
    # closes after the test: every later log line of the session would fail. Keep defaults.
    monkeypatch.setattr("hxbus.cli.configure_logging", lambda *_args, **_kwargs: None)
    capsys.readouterr()
    status = main(["--log-level", "WARNING", *argv])
    return status, capsys.readouterr().out.splitlines()


def test_replay_after_fix_delivers_each_dead_letter_once(
    settings: Settings,
    topic: str,
    agreement: Agreement,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    sinks: Callable[..., FileSink],
) -> None:
    """Rejected records go to the DLQ; replayed before the fix they come back (count 1);
    after the fix a replay delivers them once, and neither a second replay nor a replay
    from another host (no shared replay log) delivers them again."""
    codec, group = Codec(), f"g-{topic[2:]}"
    good = make_events(agreement, 20)
    rejected = [rejected_hit(agreement) for _ in range(5)]
    produce(
        settings,
        topic,
        interleave([encode(codec, e) for e in good], [encode(codec, e) for e in rejected]),
    )
    ops_state = tmp_path / "ops"

    def cli(*argv: str, state: Path = ops_state) -> tuple[int, list[str]]:
        return hxbus(capsys, monkeypatch, settings, state, *argv)

    broken = sinks(tmp_path / "sink")
    first = consume(settings, group, topic, broken, until=25)
    _, listed = cli("dlq", "list", "--group", group)
    _, too_early = cli("dlq", "replay", "--group", group)
    again = consume(settings, group, topic, broken, until=5)  # the bug is still there
    replay_counts = [entry.replay_count for entry in read_dead_letters(settings, group)]

    fixed = sinks(tmp_path / "sink", reject_marked=False)
    _, after_fix = cli("dlq", "replay", "--group", group)
    delivered = consume(settings, group, topic, fixed, until=5)
    _, second_replay = cli("dlq", "replay", "--group", group)
    _, other_host = cli("dlq", "replay", "--group", group, state=tmp_path / "other-host")
    redelivered = consume(settings, group, topic, fixed, until=10)

    written = journal(tmp_path / "sink")
    assert (
        (20, 5),
        [5, 5],
        "5 replayed, 0 skipped",
        (0, 5, [0] * 5 + [1] * 5),
        "5 replayed, 5 skipped",
        5,
        "0 replayed, 10 skipped",
        "10 replayed, 0 skipped",
        (0, 10),
        {e.envelope.message_id for e in good + rejected},
        25,
    ) == (
        (first.handled, first.dead_lettered),
        [sum(" invalid " in line for line in listed), len(listed) - 1],
        too_early[-1],
        (again.handled, again.dead_lettered, replay_counts),
        after_fix[-1],
        delivered.handled,
        second_replay[-1],
        other_host[-1],
        (redelivered.handled, redelivered.duplicate),
        message_files(tmp_path / "sink"),
        len({line[3] for line in written}),
    )


def test_show_prints_one_entry_with_its_record_and_list_does_not(
    settings: Settings,
    topic: str,
    agreement: Agreement,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    sinks: Callable[..., FileSink],
) -> None:
    """show --id prints the headers and the decoded record; list prints neither."""
    codec, group = Codec(), f"g-{topic[2:]}"
    hit = rejected_hit(agreement)
    produce(settings, topic, [encode(codec, hit)])
    consume(settings, group, topic, sinks(tmp_path / "sink"), until=1)
    _, listed = hxbus(capsys, monkeypatch, settings, tmp_path, "dlq", "list", "--group", group)
    status, shown = hxbus(
        capsys,
        monkeypatch,
        settings,
        tmp_path,
        "dlq",
        "show",
        "--group",
        group,
        "--id",
        hit.envelope.message_id,
    )
    text = "\n".join(shown)
    hit_id = hit.record["hit_id"]
    listed_text = "\n".join(listed)
    assert (0, True, True, True, False, False) == (
        status,
        "  hx_dlq_reason: invalid" in shown,
        f'"hit_id": "{hit_id}"' in text,
        REJECT_MARK in text,
        hit_id in listed_text,
        REJECT_MARK in listed_text,
    )
