"""An hxbus message read by the CloudEvents Python SDK's Kafka binding sees every attribute.

The SDK (PyPI ``cloudevents``) knows nothing of hxbus: in binary mode it takes every
``ce_<name>`` header as attribute ``<name>`` and ``content-type`` as datacontenttype. An
AlertHit published by hxbus's Publisher, read back from the real broker, gives the SDK the
required attributes and the four extensions (correlationid, causationid, traceparent,
hxtarget), with the Avro value as data. Both of the SDK's bindings are checked: the 1.x
API (``cloudevents.kafka``, kept in 2.x as ``cloudevents.v1.kafka``) and 2.x's
``cloudevents.core.bindings.kafka``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cloudevents.core.bindings import kafka as core_kafka
from cloudevents.v1 import kafka as v1_kafka
from topic_reading import read_records

from producers import Publisher
from runtime import Settings, run_provisioning
from runtime.kafka import TopicPartition
from schemas import Agreement, inbox_topic, parse_event

pytestmark = pytest.mark.broker

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "events" / "alert_hit_huaibei.json"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
CAUSATION = "7c6b5a49-3827-4615-a4f3-e2d1c0b9a897"


def _published_hit(settings: Settings, agreement: Agreement) -> tuple[Any, Any]:
    """An AlertHit with every optional envelope value, published; its event and record."""
    run_provisioning(settings, agreement)
    event = parse_event(json.loads(FIXTURE.read_text(encoding="utf-8")), agreement)
    envelope = event.envelope.evolve(
        correlation_id=event.record["alert_id"], causation_id=CAUSATION, traceparent=TRACEPARENT
    )
    event = type(event)(envelope, event.record)
    with Publisher(settings, agreement) as publisher:
        receipts = publisher.publish(event)
    # One copy per recipient inbox; each carries the same attributes but its own target.
    receipt = receipts[0]
    where = TopicPartition(receipt.topic, receipt.partition)
    [record] = [
        r for r in read_records(settings, {where: receipt.offset}) if r.offset == receipt.offset
    ]
    return event, record


def test_cloudevents_sdk_sees_every_attribute(settings: Settings, agreement: Agreement) -> None:
    """Both SDK bindings read id, source, type, time, content type and the four extensions."""
    event, record = _published_hit(settings, agreement)
    envelope = event.envelope
    headers = dict(record.headers)
    key = record.key

    legacy = v1_kafka.from_binary(
        v1_kafka.KafkaMessage(headers=headers, key=key, value=record.value),
        data_unmarshaller=lambda data: data,
    )
    current = core_kafka.from_binary_event(
        core_kafka.KafkaMessage(headers=headers, key=key, value=record.value)
    )

    expected = {
        "specversion": "1.0",
        "id": envelope.message_id,
        "source": envelope.source,
        "type": "AlertHit",
        "datacontenttype": "application/avro",
        "correlationid": event.record["alert_id"],
        "causationid": CAUSATION,
        "traceparent": TRACEPARENT,
        "hxtarget": headers["ce_hxtarget"].decode(),
        "partitionkey": key.decode(),
    }
    created = envelope.created_at.astimezone(UTC)
    legacy_attributes = {**legacy.get_attributes(), "partitionkey": legacy["partitionkey"].decode()}
    assert (expected, created, record.value) == (
        {k: v for k, v in legacy_attributes.items() if k != "time"},
        datetime.fromisoformat(legacy["time"]),
        legacy.get_data(),
    )
    assert (expected, created, record.value) == (
        {k: v for k, v in current.get_attributes().items() if k != "time"},
        current.get_attributes()["time"],
        current.get_data(),
    )
    assert inbox_topic(headers["ce_hxtarget"].decode()) == record.topic
