"""Prometheus metrics of hxbus, declared once, at import, in the default registry.

Every label takes its values from a closed set, never from ids or free text: a consumer
group or a topic name is open (one per agency, one per test), so consumers are labelled by
``role`` (bridge, audit, tracker, …: what the process is) and ``topic_kind`` (alerts, inbox,
dlq, audit, other: see :func:`topic_kind`). The HTTP exporter is started once, by
``main()``; nothing here starts a server.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from schemas.agreement import INBOX_PREFIX

#: ``outcome`` of :data:`CONSUMED`, a closed set: handled, duplicate, expired, dead_lettered.
#: ``topic_kind`` everywhere, a closed set: alerts, inbox, dlq, audit, other (``topic_kind``).

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


# --- publishing ----------------------------------------------------------------------------
#: ``outcome`` of :data:`PUBLISHED`, a closed set: ok, rejected, failed.
PUBLISHED = Counter(
    "hx_published_total",
    "Events a publisher finished with: ok (the broker holds it), rejected (invalid or "
    "refused before sending), failed (the broker did not take it in time).",
    ["agency", "event_type", "outcome"],
)

# --- bridges -------------------------------------------------------------------------------
#: ``outcome`` of :data:`BRIDGE_DELIVERIES`, a closed set: delivered (the local system
#: holds it), filtered (not for this province: share_with, expiry, target), rejected (the
#: local system or the translation refused it; dead-lettered).
BRIDGE_DELIVERIES = Counter(
    "hx_bridge_deliveries_total",
    "Exchange events a province bridge finished with, by outcome.",
    ["province", "event_type", "sink", "outcome"],
)
#: ``outcome``: delivered (new in the local system), duplicate (it had the message id).
SINK_DELIVERIES = Counter(
    "hx_sink_deliveries_total",
    "Local messages a sink took, by sink kind and outcome (delivered: new in the local "
    "system; duplicate: the local system already had this message id).",
    ["sink", "outcome"],
)
#: ``outcome``: sent, partly_rejected, rejected.
OUTBOX_FILES = Counter(
    "hx_outbox_files_total",
    "Outbox files finished, by profile and outcome (sent, partly_rejected, rejected).",
    ["profile", "outcome"],
)
END_TO_END_SECONDS = Histogram(
    "hx_end_to_end_latency_seconds",
    "From the event's created_at to its delivery into the local system.",
    ["province"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
TRANSLATE_SECONDS = Histogram(
    "hx_bridge_translate_seconds",
    "Time to translate one event between the exchange and the local format.",
    ["province", "direction"],
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
)
SINK_SECONDS = Histogram(
    "hx_bridge_sink_seconds",
    "Time to hand one batch to the local system (write, fsync, POST, transaction).",
    ["province", "sink"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

# --- consumers, requests, security ---------------------------------------------------------
CONSUMER_LAG = Gauge(
    "hx_consumer_lag_messages",
    "Messages between the group's committed offset and the broker's end offset, per "
    "partition (read from the broker each interval).",
    ["role", "topic_kind", "partition"],
)
OVERDUE = Gauge(
    "hx_requests_overdue",
    "Requests and hit confirmations past their ack_by/respond_by with no answer.",
    ["kind", "priority", "target_agency"],
)
SECOND_NOTICES = Counter(
    "hx_requests_second_notices_total",
    "Second notices sent to a target's inbox after a deadline passed unanswered.",
    ["kind", "target_agency"],
)
SIGNATURE_FAILURES = Counter(
    "hx_signature_failures_total",
    "Messages refused because their signature was missing, forged or did not match the "
    "claimed source.",
    ["role", "reason"],
)
AUTHORITY_REJECTIONS = Counter(
    "hx_authority_rejections_total",
    "Well-signed messages a receiver refused because their source may not say them "
    "(design.md, Authority), dead-lettered with reason not_authorized. rule is one of "
    "schemas.authority.RULES.",
    ["role", "event_type", "rule"],
)

LIVE_ALERTS = Gauge(
    "hx_alert_register_live_alerts",
    "Alerts in service (no status change, not past valid_until) as the alert register last "
    "counted them after writing a batch; kind is PERSON or VEHICLE.",
    ["kind"],
)

LOOKUPS = Counter(
    "hx_lookups_total",
    "Hit/no-hit lookups on need-to-know alerts' subjects, by asking agency; outcome is "
    "hit, no_hit, rate_limited, unverified or malformed (never a value asked about).",
    ["agency", "outcome"],
)


def topic_kind(topic: str) -> str:
    """The closed-set kind of a topic name: ``hx.alerts.person`` -> ``alerts``."""
    if topic.startswith("hx.alerts."):
        return "alerts"
    if topic.startswith(INBOX_PREFIX):
        return "inbox"
    if topic.startswith("hx.dlq."):
        return "dlq"
    if topic == "hx.audit":
        return "audit"
    return "other"


#: Closed set of ``stage`` label values of :data:`UNEXPECTED_INPUT_ERRORS`.
INPUT_STAGES: tuple[str, ...] = ("parse", "publish", "scan")
UNEXPECTED_INPUT_ERRORS = Counter(
    "hx_bridge_unexpected_errors_total",
    "Outbox inputs (a file or one line of a batch) refused because hxbus failed on them with "
    "an error of its own making (a bug, not a rule): the input is rejected with the error "
    "class, its neighbours go on. Alert on any increase.",
    ["profile", "stage"],
)
