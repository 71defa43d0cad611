"""bridge"""

from bridge.audit_writer import AuditOutcome, AuditScope, AuditWriter, audit_codec
from bridge.held_alerts import HeldAlerts, held_alerts_path
from bridge.inbound import InboundBridge
from bridge.outbox import FileOutcome, FileReport, OutboxPublisher
from bridge.recipients import Decision, Reason, alert_recipients, decide
from bridge.refusals import AuditedDeadLetters
from bridge.runner import SinkChoice, bridge_topics, default_group, run_inbound
from bridge.workers import (
    MAX_WORKERS,
    RestartPolicy,
    Supervisor,
    worker_metrics_port,
)

__all__ = [
    "MAX_WORKERS",
    "AuditOutcome",
    "AuditScope",
    "AuditWriter",
    "AuditedDeadLetters",
    "Decision",
    "FileOutcome",
    "FileReport",
    "HeldAlerts",
    "InboundBridge",
    "OutboxPublisher",
    "Reason",
    "RestartPolicy",
    "SinkChoice",
    "Supervisor",
    "alert_recipients",
    "audit_codec",
    "bridge_topics",
    "decide",
    "default_group",
    "held_alerts_path",
    "run_inbound",
    "worker_metrics_port",
]
