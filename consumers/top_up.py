"""A second, short poll after a busy batch: what arrived while the loop was handling it.

kafka-python sends a partition's next fetch only when a poll has drained what was fetched
before. That fetch goes out as the loop starts a batch and the broker answers it at once
with the few records then there; whatever arrives during the rest of the batch stays at
the broker until the next poll sends the next fetch, and is handled only in the batch
after the next one. A message arriving early in a long batch so waits for three batches,
not two (measured with a stage probe in the latency bench: at 100 events/s a quarter of
the batches held a record that was at the broker more than 5 ms before the previous poll
returned).

``TopUp``: after a poll that returned records, when the loop was busy for at least
``after_busy_s`` since the poll before (so new records probably wait at the broker) and
the batch is not full (a full poll is a backlog: the next poll gets the rest anyway, and
batches there stay as large as ``max_records``), poll once more for at most ``wait_s``
and join what it returns to the batch. The join keeps each partition's offsets strictly
increasing: a record at or below one already held for that partition (its position was
reset by a rebalance inside the second poll) is left out, it is in the batch already or
was handled before. Nothing else of the loop changes: the joined batch is one batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from runtime.kafka import Consumer, Record, TopicPartition
from schemas.errors import BrokerError

log = structlog.get_logger("hxbus.consumer")

Polled = dict[TopicPartition, list[Record]]

#: The second poll waits this long at most (a fetch round trip on a loaded machine).
DEFAULT_WAIT_S = 0.005
#: ... and is made only when the loop was busy this long since the poll before.
DEFAULT_AFTER_BUSY_S = 0.005


class TopUp:
    """Calls ``consumer.poll`` a second time when that likely finds records (module doc)."""

    def __init__(
        self,
        max_records: int,
        wait_s: float = DEFAULT_WAIT_S,
        after_busy_s: float = DEFAULT_AFTER_BUSY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_records = max_records
        self.wait_s = wait_s
        self.after_busy_s = after_busy_s
        self._clock = clock
        self._last_poll: float | None = None
        #: Second polls made, and those that found records (tests, the stage probe).
        self.tries = 0
        self.found = 0

    def __call__(self, consumer: Consumer, polled: Polled) -> Polled:
        """``polled`` (what the loop's poll returned), joined with a second poll's records
        when the loop was busy since the poll before and the batch is not full."""
        now = self._clock()
        previous, self._last_poll = self._last_poll, now
        count = sum(len(records) for records in polled.values())
        if (
            self.wait_s <= 0
            or count == 0
            or count >= self.max_records
            or previous is None
            or now - previous < self.after_busy_s
        ):
            return polled
        self.tries += 1
        try:
            more = consumer.poll(self.wait_s, self.max_records - count)
        except BrokerError as exc:
            if not exc.retriable:
                raise
            log.warning("poll_failed", error=str(exc))  # the next poll tries again
            return polled
        self._last_poll = self._clock()
        if not more:
            return polled
        self.found += 1
        return join(polled, more)


def join(first: Polled, more: Polled) -> Polled:
    """``first`` with ``more`` after it, each partition's offsets strictly increasing."""
    out = {tp: list(records) for tp, records in first.items()}
    for tp, records in more.items():
        held = out.setdefault(tp, [])
        last = held[-1].offset if held else -1
        held.extend(r for r in records if r.offset > last)
        if not held:
            del out[tp]
    return out
