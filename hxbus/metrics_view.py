"""What ``hxbus top`` shows, computed from the roles' ``/metrics`` pages.

A ``Scrape`` is one reading of every URL: the counters, histogram buckets and gauges of
the hxbus series, summed over the processes that expose them. Two scrapes make a
``View``: rates per second over the interval between them, and latency percentiles of
the deliveries made in that interval (from the histogram buckets, interpolated within a
bucket as Prometheus's ``histogram_quantile`` does). The text is parsed with
prometheus-client's own parser, so whatever the exporter writes, this reads.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

Key = tuple[str, ...]

#: Series read, and the labels (in order) that key them.
_COUNTERS: dict[str, tuple[str, ...]] = {
    "hx_published_total": ("agency", "event_type", "outcome"),
    "hx_consumer_messages_total": ("role", "topic_kind", "event_type", "outcome"),
    "hx_bridge_deliveries_total": ("province", "event_type", "sink", "outcome"),
    "hx_signature_failures_total": ("role", "reason"),
    "hx_requests_second_notices_total": ("kind", "target_agency"),
    "hx_lookups_total": ("agency", "outcome"),
}
_GAUGES: dict[str, tuple[str, ...]] = {
    "hx_consumer_lag_messages": ("role", "topic_kind"),
    "hx_requests_overdue": ("kind", "priority"),
}
_LATENCY = "hx_end_to_end_latency_seconds_bucket"


@dataclass
class Scrape:
    """One reading of every URL, summed over them; ``errors`` per unreachable URL."""

    at: float
    counters: dict[str, dict[Key, float]] = field(default_factory=lambda: defaultdict(dict))
    gauges: dict[str, dict[Key, float]] = field(default_factory=lambda: defaultdict(dict))
    #: province -> upper bound -> cumulative count
    latency: dict[str, dict[float, float]] = field(default_factory=lambda: defaultdict(dict))
    errors: dict[str, str] = field(default_factory=dict)
    up: list[str] = field(default_factory=list)
    #: The optional URLs that answered (a bridge's workers 2 and up): summed, not roles.
    workers_up: list[str] = field(default_factory=list)

    def add_text(self, text: str) -> None:
        """Add one exposition page's hxbus series."""
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                name, labels = sample.name, sample.labels
                if name in _COUNTERS:
                    _add(self.counters[name], _key(labels, _COUNTERS[name]), sample.value)
                elif name in _GAUGES:
                    _add(self.gauges[name], _key(labels, _GAUGES[name]), sample.value)
                elif name == _LATENCY:
                    buckets = self.latency[labels.get("province", "")]
                    bound = float(labels["le"])
                    buckets[bound] = buckets.get(bound, 0.0) + sample.value


#: Seconds an optional URL may take: a worker that is not running refuses at once on
#: this host, and a remote one that drops the connection must not slow every frame.
OPTIONAL_TIMEOUT_S = 0.3


def scrape(urls: Sequence[str], *, optional: Sequence[str] = (), timeout_s: float = 2.0) -> Scrape:
    """Read every URL now; an unreachable one is recorded in ``errors``, not raised.

    ``optional`` URLs (where a bridge's extra workers would serve) are summed in when they
    answer and left out silently when they do not: most bridges run one worker.
    """
    result = Scrape(at=time.monotonic())
    with httpx.Client(timeout=timeout_s) as client:
        for url in urls:
            try:
                response = client.get(url)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                result.errors[url] = type(exc).__name__
                continue
            result.add_text(response.text)
            result.up.append(url)
        for url in optional:
            try:
                response = client.get(url, timeout=min(timeout_s, OPTIONAL_TIMEOUT_S))
                response.raise_for_status()
            except httpx.HTTPError:
                continue
            result.add_text(response.text)
            result.workers_up.append(url)
    return result


def quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """The q-quantile of cumulative ``buckets`` (upper bound -> count), or None if empty.

    Linear within the bucket that holds the rank, as ``histogram_quantile``; a rank in
    the +Inf bucket answers the largest finite bound.
    """
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    rank = q * buckets[bounds[-1]]
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


@dataclass(frozen=True)
class Row:
    """One line of a table: what it is, its rate per second, and its total."""

    key: Key
    rate: float
    total: float


@dataclass
class View:
    """Everything on one frame, from the scrape before and the scrape now."""

    now: Scrape
    before: Scrape | None

    @property
    def seconds(self) -> float:
        return self.now.at - self.before.at if self.before else 0.0

    def rows(self, series: str, by: Sequence[str], **where: str) -> list[Row]:
        """Counter ``series`` summed by the label positions ``by``, matching ``where``."""
        labels = _COUNTERS[series]
        positions = [labels.index(name) for name in by]
        filters = [(labels.index(name), value) for name, value in where.items()]

        def grouped(scrape: Scrape | None) -> dict[Key, float]:
            totals: dict[Key, float] = defaultdict(float)
            for key, value in (scrape.counters.get(series, {}) if scrape else {}).items():
                if all(key[i] == v for i, v in filters):
                    totals[tuple(key[i] for i in positions)] += value
            return totals

        now, before = grouped(self.now), grouped(self.before)
        return sorted(
            (Row(key, self._rate(total, before.get(key)), total) for key, total in now.items()),
            key=lambda row: (-row.total, row.key),
        )

    def total(self, series: str, **where: str) -> Row:
        """Counter ``series`` summed over everything matching ``where``."""
        rows = self.rows(series, (), **where)
        return rows[0] if rows else Row((), 0.0, 0.0)

    def gauge(self, series: str, by: Sequence[str]) -> dict[Key, float]:
        labels = _GAUGES[series]
        positions = [labels.index(name) for name in by]
        totals: dict[Key, float] = defaultdict(float)
        for key, value in self.now.gauges.get(series, {}).items():
            totals[tuple(key[i] for i in positions)] += value
        return dict(totals)

    def latency(self, q: float, province: str | None = None) -> float | None:
        """The q-quantile of end-to-end latency (seconds) of the deliveries in the
        interval; of all deliveries so far on the first frame."""
        provinces = [province] if province is not None else list(self.now.latency)
        now = _sum_buckets(self.now.latency.get(p, {}) for p in provinces)
        if self.before is not None:
            before = _sum_buckets(self.before.latency.get(p, {}) for p in provinces)
            interval = {bound: count - before.get(bound, 0.0) for bound, count in now.items()}
            if max(interval.values(), default=0.0) > 0:
                now = interval
        return quantile(q, now)

    def provinces(self) -> list[str]:
        return sorted(p for p in self.now.latency if p)

    def _rate(self, total: float, before: float | None) -> float:
        if self.before is None or self.seconds <= 0:
            return 0.0
        return max(0.0, total - (before or 0.0)) / self.seconds


def _key(labels: Mapping[str, str], names: Iterable[str]) -> Key:
    return tuple(labels.get(name, "") for name in names)


def _add(target: dict[Key, float], key: Key, value: float) -> None:
    target[key] = target.get(key, 0.0) + value


def _sum_buckets(many: Iterable[Mapping[float, float]]) -> dict[float, float]:
    total: dict[float, float] = defaultdict(float)
    for buckets in many:
        for bound, count in buckets.items():
            total[bound] += count
    return dict(total)
