"""Sinks: where translated local bytes are delivered (directory, HTTP, Kafka)."""

from bridge.sinks.base import SINK_KINDS, DeliveryOutcome, DeliveryResult, Sink
from bridge.sinks.directory import DirectorySink
from bridge.sinks.http import HttpSink
from bridge.sinks.kafka import KafkaSink

__all__ = [
    "SINK_KINDS",
    "DeliveryOutcome",
    "DeliveryResult",
    "DirectorySink",
    "HttpSink",
    "KafkaSink",
    "Sink",
]
