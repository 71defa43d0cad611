"""The producer behind a Publisher, and its replacement when kafka-python wedges.

Why this exists: kafka-python 3.0.12's idempotent producer stops for good after a batch
that was already sent expires (the broker went away longer than ``delivery_timeout_ms``
while a request was in flight). It then resets its producer id, but leaves its
transaction state READY, so the InitProducerId it needs is never asked for: every later
batch waits in the accumulator for ever — it is not even expired — and the producer
never sends again, even after the broker is back (measured: see
``tests/integration/test_publish.py``, the broker killed mid-batch).

So the Publisher gives every event a deadline (delivery timeout plus a margin). An
event still unanswered at its deadline means the producer is wedged: this module
*abandons* that producer (closes it forcefully, which fails every record it still holds,
all of them already reported to the caller or about to be), and builds a new one on the
next send. While the broker cannot be reached, a new one is tried at most every
``retry_after_s`` and the events in between fail at once with ``BrokerUnavailable``.

The forced close is ``Producer.force_close`` (in kafka-python the private
``_sender.force_close()``, kept inside ``runtime.kafka``): the public ``close()``
flushes first and raises on records that will never complete.

A producer that did *not* wedge (its unsent records simply expired while the broker was
away) is kept, and must find the broker again by itself: kafka-python 3 backs off
reconnecting exponentially up to ``reconnect_backoff_max_ms`` (30 s by default), so after
a 15 s outage it may not even try for another ~6 s, and events sent meanwhile expire
although the broker answers. Every hxbus client therefore caps that back-off (see
``runtime.kafka.kafka_python.RECONNECT_BACKOFF_MAX_MS``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from runtime.kafka import Producer
from schemas.errors import BrokerUnavailable, HxError

log = structlog.get_logger("hxbus.publisher")


class ProducerConnection:
    """Hands out the current producer; abandons a wedged one; reconnects with a back-off."""

    def __init__(
        self,
        factory: Callable[[], Producer] | None,
        producer: Producer | None = None,
        *,
        retry_after_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if factory is None and producer is None:
            raise ValueError("a producer or a factory of producers is needed")
        self._factory = factory
        self._producer = producer if producer is not None else factory()  # type: ignore[misc]
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._next_attempt = 0.0
        #: Incremented on every new producer; an event remembers the generation it went to.
        self.generation = 0
        self.abandoned: set[int] = set()

    @property
    def replaceable(self) -> bool:
        """Only a producer this connection built can be thrown away and built again."""
        return self._factory is not None

    def current(self) -> Producer:
        """The producer to send with; ``BrokerUnavailable`` while none can be built."""
        if self._producer is not None:
            return self._producer
        now = self._clock()
        if now < self._next_attempt:
            raise BrokerUnavailable(
                f"no connection to the broker; next attempt in {self._next_attempt - now:.1f} s"
            )
        assert self._factory is not None  # only a replaceable producer is ever dropped
        try:
            self._producer = self._factory()
        except HxError:
            self._next_attempt = self._clock() + self._retry_after_s  # after the attempt
            raise
        self.generation += 1
        log.info("producer_reconnected", generation=self.generation)
        return self._producer

    def abandon(self, generation: int) -> None:
        """Throw away the producer of ``generation`` (wedged); its pending records fail."""
        if generation != self.generation or self._producer is None or not self.replaceable:
            return
        log.warning("producer_abandoned", generation=generation)
        producer, self._producer = self._producer, None
        self.abandoned.add(generation)
        producer.force_close()
        try:
            producer.close(1.0)
        except HxError as exc:  # nothing is waiting on it any more: note it and move on
            log.warning("producer_close_failed", error=str(exc))

    def close(self, timeout_s: float) -> None:
        """Flush and close; a producer that cannot flush in time is closed by force.

        A producer handed in by the caller is only flushed: its owner closes it.
        """
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            producer.flush(timeout_s)
        except BrokerUnavailable:
            if self.replaceable:
                producer.force_close()
                producer.close(timeout_s)
            raise
        if self.replaceable:
            producer.close(timeout_s)
