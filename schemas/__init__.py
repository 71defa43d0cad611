"""The exchange contract: Avro schemas, catalog, wire codec, domain models, agreement."""

from schemas.agreement import (
    AUDIT_TOPIC,
    BROADCAST_TOPICS,
    DEFAULT_AGREEMENT_PATH,
    Agency,
    Agreement,
    Topic,
    bridge_principal,
    dlq_topic,
    inbox_owner,
    inbox_topic,
    load_agreement,
    parse_agreement,
)
from schemas.catalog import AVRO_DIR, Catalog, SchemaVersion, freeze_current, repository_catalog
from schemas.codec import Codec
from schemas.compat import Incompatibility, assert_compatible, check_catalog
from schemas.contract_docs import CONTRACT_DOC, render_contract
from schemas.envelope import EVENT_TYPES, Envelope, ExchangeEvent, new_message_id, utc_now_ms
from schemas.headers import envelope_headers, parse_headers
from schemas.jsonform import parse_event, read_events, render_event
from schemas.province import MetricsPorts, Province, ProvinceKey
from schemas.record_keys import KEY_FIELDS, record_key
from schemas.schema_rules import rule_issues
from schemas.validation import EVENT_MODELS, validate_event, validate_record

__all__ = [
    "AUDIT_TOPIC",
    "AVRO_DIR",
    "BROADCAST_TOPICS",
    "CONTRACT_DOC",
    "DEFAULT_AGREEMENT_PATH",
    "EVENT_MODELS",
    "EVENT_TYPES",
    "KEY_FIELDS",
    "Agency",
    "Agreement",
    "Catalog",
    "Codec",
    "Envelope",
    "ExchangeEvent",
    "Incompatibility",
    "MetricsPorts",
    "Province",
    "ProvinceKey",
    "SchemaVersion",
    "Topic",
    "assert_compatible",
    "bridge_principal",
    "check_catalog",
    "dlq_topic",
    "envelope_headers",
    "freeze_current",
    "inbox_owner",
    "inbox_topic",
    "load_agreement",
    "new_message_id",
    "parse_agreement",
    "parse_event",
    "parse_headers",
    "read_events",
    "record_key",
    "render_contract",
    "render_event",
    "repository_catalog",
    "rule_issues",
    "utc_now_ms",
    "validate_event",
    "validate_record",
]
