"""bridge"""

from bridge.audit import AuditOutcome, AuditScope, AuditWriter, audit_codec
from bridge.outbox import FileOutcome, FileReport, OutboxPublisher

__all__ = [
    "AuditOutcome",
    "AuditScope",
    "AuditWriter",
    "FileOutcome",
    "FileReport",
    "OutboxPublisher",
    "audit_codec",
]
