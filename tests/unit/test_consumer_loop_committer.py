"""The consumer loop with a sink that owns the commit (``offset_committer``): the offsets
go to the sink's transaction, never to the consumer; a failed commit redoes the batch.

Uses the in-memory consumer of test_consumer_loop (a real broker cannot be made to fail a
transaction commit at will; tests/e2e/test_bridge_kafka_sink.py shows the real one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from test_consumer_loop import (  # noqa: F401 (fixtures)
    Bench,
    FakeDeadLetters,
    RecordingHandler,
    bench,
    codec,
    hit_template,
    hits,
    ids,
)

from runtime.kafka import GroupMetadata, TopicPartition
from schemas import ExchangeEvent
from schemas.errors import BrokerError

TP0 = TopicPartition("t-loop", 0)


@dataclass
class Committer:
    """Records the offsets committed in 'transactions'; fails the first ``failures``."""

    failures: int = 0
    commits: list[tuple[dict[TopicPartition, int], GroupMetadata]] = field(default_factory=list)
    aborts: int = 0

    def commit_offsets(
        self, offsets: Mapping[TopicPartition, int], group_metadata: GroupMetadata
    ) -> None:
        if self.failures:
            self.failures -= 1
            raise BrokerError("test: transaction not committed")
        self.commits.append((dict(offsets), group_metadata))

    def abort(self) -> None:
        self.aborts += 1


META = GroupMetadata("g-fake", "meta")


def test_offsets_go_to_the_committer_not_the_consumer(
    bench: Callable[..., Bench],  # noqa: F811
    hit_template: ExchangeEvent,  # noqa: F811
) -> None:
    """The batch's next offsets and the group metadata reach the sink; the consumer commits
    nothing."""
    events = hits(hit_template, 4)
    b = bench(events)
    committer = Committer()
    handler = RecordingHandler()
    b.runtime(handler, FakeDeadLetters(), offset_committer=committer).run(idle_timeout=0.05)
    assert ([({TP0: 4}, META)], [], ids(events)) == (
        committer.commits,
        b.consumers[0].commits,
        handler.durable,
    )


def test_failed_transaction_commit_aborts_and_redoes_the_batch(
    bench: Callable[..., Bench],  # noqa: F811
    hit_template: ExchangeEvent,  # noqa: F811
) -> None:
    """A refused commit: aborted, the partition sought back to the batch start, the batch
    handled again (not marked as done in between) and then committed once."""
    events = hits(hit_template, 3)
    b = bench(events)
    committer = Committer(failures=1)
    handler = RecordingHandler()
    stats = b.runtime(handler, FakeDeadLetters(), offset_committer=committer).run(idle_timeout=0.2)
    assert (ids(events) * 2, [({TP0: 3}, META)], [(TP0, 0)], 3) == (
        handler.handled,
        committer.commits,
        b.consumers[0].seeks,
        stats.handled,
    )
    assert committer.aborts >= 1
