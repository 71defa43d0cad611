"""Plain kafka-python clients for tests that play an outsider (not a test module).

Every hxbus client goes through ``runtime.kafka``; these do not, on purpose: a forger
writing straight to a topic under its own login (issue 14: the authority and signature
tests), a reader that checks the wire without hxbus's reading code (the publish and
register read-backs), and a ``read_uncommitted`` reader that sees the records of open or
aborted transactions, which no hxbus consumer may see. They are gathered here so that
``tests/`` too has one place that imports a Kafka client outside the boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTopicPartition

from runtime import Settings

__all__ = ["KafkaTopicPartition", "raw_consumer", "raw_producer", "send_raw"]


def raw_producer(settings: Settings, **config: Any) -> KafkaProducer:
    """A plain ``KafkaProducer`` with ``settings``' bootstrap and login, acks=all."""
    return KafkaProducer(
        bootstrap_servers=settings.bootstrap.split(","),
        acks="all",
        **settings.kafka_security(),
        **config,
    )


def send_raw(
    settings: Settings,
    topic: str,
    *,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]] = (),
) -> tuple[int, int]:
    """Write one record as an outsider would (no hxbus code), wait for the ack; where it
    landed: (partition, offset)."""
    producer = raw_producer(settings)
    try:
        stored = producer.send(topic, key=key, value=value, headers=list(headers)).get(timeout=30)
        return stored.partition, stored.offset
    finally:
        producer.close()


def raw_consumer(settings: Settings, *topics: str, **config: Any) -> KafkaConsumer:
    """A plain group-less ``KafkaConsumer`` with ``settings``' bootstrap and login."""
    return KafkaConsumer(
        *topics,
        bootstrap_servers=settings.bootstrap.split(","),
        enable_auto_commit=False,
        **settings.kafka_security(),
        **config,
    )
