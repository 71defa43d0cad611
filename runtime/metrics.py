"""Prometheus metrics of hxbus, declared once, at import, in the default registry.

Every label takes its values from a closed set, never from ids or free text: a consumer
group or a topic name is open (one per agency, one per test), so consumers are labelled by
``role`` (bridge, audit, tracker, …: what the process is) and ``topic_kind`` (alerts, inbox,
dlq, audit, other: see :func:`topic_kind`). The HTTP exporter is started once, by
``main()``; nothing here starts a server.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

#: Closed set of ``outcome`` label values of :data:`CONSUMED`.
CONSUMER_OUTCOMES: tuple[str, ...] = ("handled", "duplicate", "expired", "dead_lettered")
#: Closed set of ``topic_kind`` label values.
TOPIC_KINDS: tuple[str, ...] = ("alerts", "inbox", "dlq", "audit", "other")

CONSUMED = Counter(
    "hx_consumer_messages_total",
    "Messages a consumer finished with (offset committed), by outcome. event_type is "
    "'unknown' for a message that could not be decoded.",
    ["role", "topic_kind", "event_type", "outcome"],
)
RETRIED = Counter(
    "hx_consumer_retries_total",
    "Retriable failures (sink or broker down, timeouts); the partition is paused and the "
    "message is tried again after a backoff. reason is the error's reason.",
    ["role", "topic_kind", "reason"],
)
STALLED_PARTITIONS = Gauge(
    "hx_consumer_stalled_partitions",
    "Partitions whose head message has been failing for longer than the runtime's "
    "stall_alert_after: nothing is lost, but the partition does not move. Alert on > 0.",
    ["role"],
)
BATCH_SECONDS = Histogram(
    "hx_consumer_batch_seconds",
    "Wall time of one polled batch: decode, handle, flush, mark, commit.",
    ["role"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
COMMIT_FAILURES = Counter(
    "hx_consumer_commit_failures_total",
    "Offset commits the broker refused or did not answer (retried with the next batch; "
    "the dedupe store keeps a redelivery from reaching the sink twice).",
    ["role"],
)


def topic_kind(topic: str) -> str:
    """The closed-set kind of a topic name: ``hx.alerts.person`` -> ``alerts``."""
    if topic.startswith("hx.alerts."):
        return "alerts"
    if topic.startswith("hx.inbox."):
        return "inbox"
    if topic.startswith("hx.dlq."):
        return "dlq"
    if topic == "hx.audit":
        return "audit"
    return "other"
