"""End-to-end latency at fixed offered rates: ``created_at`` to the file in the local inbox.

One province's bridge (``hxbus bridge run``, directory sink) runs under a fresh group
started at the topics' ends. The Publisher sends events paced by a token bucket, each
stamped ``created_at`` = now just before it goes (``publish_many`` over a stream, as
``hxbus simulate`` sends). When the bridge has caught up (its group's lag is 0), each
file it wrote for one of these events gives a latency: the file's ctime (set when the
sink links it under its final name) minus ``created_at``. Files of events the province
does not receive are simply not there.

The hold test: a rate is *held* when the group's lag, sampled every second, does not grow
(least-squares slope after the first 5 s below 2 % of the rate achieved); the highest rate
achieved and held (60 s in the full run) is reported, for one bridge process and for
``--workers 2`` (a rig with ``workers=2``: the supervisor and its two worker processes of
one group, sharing the inbox; its steps start once both workers hold partitions).
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.events import restamped
from bench.offsets import LagMeter, end_offsets, start_group_at
from bench.processes import BridgeProcess
from bridge import bridge_topics
from producers import Publisher, TokenBucket
from runtime import Settings, agreement_signers
from schemas import Agreement, ExchangeEvent
from schemas.errors import BenchFailed

#: The province whose bridge receives the most of the synthetic mix.
LATENCY_PROVINCE = "SD"


class LatencyRig:
    """A running bridge, a publisher and a lag meter; ``run(rate, seconds)`` per step."""

    def __init__(
        self,
        settings: Settings,
        agreement: Agreement,
        events: list[ExchangeEvent],
        workdir: Path,
        *,
        workers: int = 1,
    ) -> None:
        self._events = events
        self.province = LATENCY_PROVINCE
        self.workers = workers
        topics = bridge_topics(agreement, self.province)
        group = f"hx.bench.latency.{uuid.uuid4().hex[:8]}"
        start_group_at(settings, group, end_offsets(settings, topics))
        extra = ["--workers", str(workers)] if workers > 1 else []
        self.bridge = BridgeProcess(settings, self.province, group, workdir, extra=extra)
        self._lag = LagMeter(settings, group, topics)
        self._publisher = Publisher(
            settings, agreement, signer=agreement_signers(settings, agreement)
        )
        self._publisher.warm_up(topics[:2])
        self.bridge.wait_assigned()
        if workers > 1:
            self._wait_all_assigned()
        self._next = 0

    def _wait_all_assigned(self, timeout_s: float = 60.0) -> None:
        """Return once every worker holds partitions (the group's settled assignment: the
        first to join holds everything until the others have joined)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            held: dict[int, int] = {}
            for line in self.bridge.lines():
                if line.get("event") == "partitions_assigned":
                    held[int(line.get("worker", 1))] = len(line.get("partitions", []))
            if len(held) >= self.workers and all(held.values()):
                return
            if self.bridge.process.poll() is not None:
                raise BenchFailed(f"bridge exited: {self.bridge.tail()}")
            time.sleep(0.1)
        raise BenchFailed(
            f"{self.workers} workers did not all hold partitions: {self.bridge.tail()}"
        )

    def close(self) -> None:
        try:
            self._publisher.close()
            self._lag.close()
        finally:
            self.bridge.stop()

    def run(self, rate: float, seconds: float, *, sample_lag: bool = False) -> dict[str, Any]:
        """Offer ``rate`` events/s for ``seconds``; the latency percentiles (ms) and lag."""
        count = max(2, round(rate * seconds))
        created: dict[str, float] = {}  # message id -> created_at, in sending order
        lag_samples: list[tuple[float, int]] = []
        started = time.monotonic()
        sending = threading.Event()
        sampler = threading.Thread(
            target=self._sample_lag, args=(started, sending, lag_samples), daemon=True
        )
        if sample_lag:
            sampler.start()  # beside the sender: a lag query must not hold up the pacing
        try:
            for outcome in self._publisher.publish_many(self._paced(count, rate, created)):
                if outcome.error is not None:
                    raise BenchFailed(f"publishing at {rate:g}/s: {outcome.error}")
        finally:
            sending.set()
            if sample_lag:
                sampler.join()
        if not self._lag.wait_caught_up(timeout_s=max(180.0, seconds * 4)):
            raise BenchFailed(f"bridge {self.province} did not catch up after {rate:g}/s")
        latencies = self._latencies(created)
        result: dict[str, Any] = {
            "workers": self.workers,
            "offered_per_s": rate,
            "achieved_per_s": round(_achieved(created), 1),
            "events": len(created),
            "delivered": len(latencies),
            **_percentiles(latencies),
        }
        if sample_lag:
            result["lag_samples"] = [lag for _, lag in lag_samples]
            result["lag_slope_per_s"] = round(_slope(lag_samples, after_s=5.0), 2)
            result["held"] = result["lag_slope_per_s"] < 0.02 * result["achieved_per_s"]
        return result

    def _sample_lag(
        self, started: float, sending: threading.Event, out: list[tuple[float, int]]
    ) -> None:
        while not sending.wait(1.0):
            out.append((time.monotonic() - started, self._lag.lag()))

    def _paced(self, count: int, rate: float, created: dict[str, float]) -> Iterator[ExchangeEvent]:
        # 100 ms of burst: a sender held up a moment (a GC, the other core busy) catches up
        # instead of losing that time for good, so the offered rate is the rate sent.
        bucket = TokenBucket(rate, burst=max(1.0, rate / 10))
        stop_at = time.monotonic() + count / rate  # a sender slower than the rate stops too
        for _ in range(count):
            bucket.take()
            if time.monotonic() > stop_at:
                return
            event = restamped(self._events[self._next % len(self._events)])
            self._next += 1
            created[event.envelope.message_id] = event.envelope.created_at.timestamp()
            yield event

    def _latencies(self, created: dict[str, float]) -> list[float]:
        out = []
        inbox = self.bridge.root / "inbox"
        for path in inbox.iterdir():
            sent = created.get(path.name.split(".", 1)[0])
            if sent is not None:
                out.append((path.stat().st_ctime_ns / 1e9 - sent) * 1000)
        return out


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99), "max_ms": at(1.0)}


def _slope(samples: list[tuple[float, int]], *, after_s: float) -> float:
    """Least-squares slope (records/s) of the lag samples taken after ``after_s``."""
    points = [(t, lag) for t, lag in samples if t >= after_s]
    if len(points) < 3:
        return 0.0
    times = [t for t, _ in points]
    lags = [float(lag) for _, lag in points]
    return statistics.linear_regression(times, lags).slope


def _achieved(created: dict[str, float]) -> float:
    """Events/s between the first and the last event stamped (the sender's pace)."""
    times = list(created.values())
    span = times[-1] - times[0]
    return (len(times) - 1) / span if span > 0 else 0.0
