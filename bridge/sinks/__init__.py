"""Sinks: where translated local bytes are delivered (directory, HTTP, Kafka)."""
