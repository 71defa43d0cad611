"""Consumer lag, read from the broker: end offset minus the group's committed offset.

The ops team's first question about a receiver is "is it keeping up?". The answer is on
the broker, not in the consumer: the group's committed offsets (what is durably done)
against each partition's end offset (the last stable offset, since consumers read
``read_committed``). ``LagMonitor`` asks every few seconds on a thread of its own, with
clients of its own (kafka-python's consumer is not shared across threads), and sets
``hx_consumer_lag_messages``. A partition the group never committed counts from its
first offset, as a new group starts reading there (``auto_offset_reset=earliest``).

Labels are closed sets: the lag of every topic of one kind (a bridge reads several
inboxes) is summed per partition number, so the series does not grow with the agreement.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence

import structlog

from runtime import Settings, open_admin, open_consumer
from runtime.kafka import Admin, Consumer, TopicPartition
from runtime.metrics import CONSUMER_LAG
from runtime.metrics import topic_kind as kind_of
from runtime.topic_end import partitions_of
from schemas.errors import HxError

log = structlog.get_logger("hxbus.consumer.lag")

#: How often a running consumer's lag is read (seconds); Prometheus scrapes every 15 s.
DEFAULT_LAG_EVERY_S = 10.0


def read_lag(
    admin: Admin, consumer: Consumer, group: str, topics: Iterable[str]
) -> dict[TopicPartition, int]:
    """Messages not yet committed by ``group``, per partition of ``topics``.

    ``consumer`` is one without a group (only its offset look-ups are used). Topics the
    broker does not know are left out.
    """
    partitions = partitions_of(consumer, topics)
    if not partitions:
        return {}
    committed = admin.committed_offsets(group, partitions)
    ends = consumer.end_offsets(partitions)
    positions: dict[TopicPartition, int] = {}
    for tp in partitions:
        offset = committed.get(tp)
        if offset is not None:
            positions[tp] = offset
    never = [tp for tp in partitions if tp not in positions]
    if never:
        positions.update(consumer.beginning_offsets(never))
    return {tp: max(0, ends[tp] - positions[tp]) for tp in partitions}


def lag_by_kind(lag: dict[TopicPartition, int]) -> dict[tuple[str, int], int]:
    """Sum the lag per (topic kind, partition number): the gauge's label values."""
    total: dict[tuple[str, int], int] = defaultdict(int)
    for tp, messages in lag.items():
        total[(kind_of(tp.topic), tp.partition)] += messages
    return dict(total)


class LagMonitor:
    """Reads ``group``'s lag on ``topics`` every ``every_s`` seconds on its own thread."""

    def __init__(
        self,
        settings: Settings,
        group: str,
        topics: Sequence[str],
        role: str,
        every_s: float = DEFAULT_LAG_EVERY_S,
    ) -> None:
        self._settings = settings
        self._group = group
        self._topics = tuple(topics)
        self._role = role
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> LagMonitor:
        """Start reading (the first reading right away); returns self."""
        self._thread = threading.Thread(target=self._run, name=f"lag-{self._role}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop reading; waits for a reading in progress to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        admin: Admin | None = None
        consumer: Consumer | None = None
        try:
            while not self._stop.is_set():
                try:
                    if admin is None:
                        admin = open_admin(self._settings)
                    if consumer is None:
                        consumer = open_consumer(self._settings)
                    self.publish(read_lag(admin, consumer, self._group, self._topics))
                except HxError as exc:  # the broker is away: try again next time
                    log.warning("lag_read_failed", group=self._group, error=str(exc))
                self._stop.wait(self._every_s)
        finally:
            if consumer is not None:
                consumer.close()
            if admin is not None:
                admin.close()

    def publish(self, lag: dict[TopicPartition, int]) -> None:
        """Set the gauge from one reading."""
        for (kind, partition), messages in lag_by_kind(lag).items():
            CONSUMER_LAG.labels(self._role, kind, str(partition)).set(messages)
