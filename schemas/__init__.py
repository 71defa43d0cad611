"""The exchange contract: Avro schemas, catalog, wire codec, domain models, agreement."""

from schemas.agreement import (
    AUDIT_TOPIC,
    BROADCAST_TOPICS,
    DEFAULT_AGREEMENT_PATH,
    Agency,
    Agreement,
    Province,
    Topic,
    dlq_topic,
    inbox_topic,
    load_agreement,
    parse_agreement,
)
from schemas.envelope import EVENT_TYPES, Envelope, ExchangeEvent, new_message_id, utc_now_ms

__all__ = [
    "AUDIT_TOPIC",
    "BROADCAST_TOPICS",
    "DEFAULT_AGREEMENT_PATH",
    "EVENT_TYPES",
    "Agency",
    "Agreement",
    "Envelope",
    "ExchangeEvent",
    "Province",
    "Topic",
    "dlq_topic",
    "inbox_topic",
    "load_agreement",
    "new_message_id",
    "parse_agreement",
    "utc_now_ms",
]
