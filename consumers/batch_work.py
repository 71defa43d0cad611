"""What one batch did, per partition, and what a run did in all (the loop's bookkeeping)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from consumers.delivery import Outcome
from runtime.kafka import TopicPartition
from runtime.metrics import CONSUMED


@dataclass(slots=True)
class RunStats:
    """What one ``run`` did, by outcome (the bench and the tests read these)."""

    handled: int = 0
    duplicate: int = 0
    expired: int = 0
    dead_lettered: int = 0
    retried: int = 0
    batches: int = 0

    def add(self, counts: Counter[tuple[str, str, Outcome]], role: str) -> None:
        """Add a batch's outcomes, by (topic kind, event type, outcome), to these stats
        and to ``hx_consumed_total`` (one label look-up per kind)."""
        for (topic_kind, event_type, outcome), n in counts.items():
            setattr(self, outcome.value, getattr(self, outcome.value) + n)
            CONSUMED.labels(role, topic_kind, event_type, outcome.value).inc(n)

    @property
    def finished(self) -> int:
        """Messages done for good (committed or about to be): every outcome but a retry."""
        return self.handled + self.duplicate + self.expired + self.dead_lettered


@dataclass(slots=True)
class Done:
    """One message of a batch that needs no further handling, and what it still waits for."""

    offset: int
    outcome: Outcome
    event_type: str
    message_id: str | None = None


@dataclass(slots=True)
class PartitionWork:
    """The batch of one partition: what got done, and where (if anywhere) it stopped."""

    done: list[Done] = field(default_factory=list)
    stopped_at: int | None = None

    def start(self) -> int | None:
        """The first offset of the batch this partition handled or stopped at."""
        offsets = [d.offset for d in self.done]
        if self.stopped_at is not None:
            offsets.append(self.stopped_at)
        return min(offsets) if offsets else None


BatchWork = dict[TopicPartition, PartitionWork]

#: Outcomes durable only once ``handler.flush()`` succeeded: a handled message's delivery,
#: and an expired alert's audit record (``on_expired`` writes it into the same batch).
AWAIT_FLUSH = frozenset({Outcome.HANDLED, Outcome.EXPIRED})


def awaits_flush(work: BatchWork) -> bool:
    """Whether the batch holds a message that waits for ``handler.flush()``."""
    return any(d.outcome in AWAIT_FLUSH for w in work.values() for d in w.done)
