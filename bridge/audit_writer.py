"""The audit trail: one ``hx.audit.AuditRecord`` per message a bridge handled.

An auditor asks "who received alert X, when, and what did they do with it". Every
delivery into a local system (and every refusal: rejected, dead-lettered, refused for
security, expired) becomes one record on ``hx.audit``, kept three years: who sent the
message, which province and agency it was for, which profile translated it and what the
translation lost (truncated and dropped fields), hashes of the bytes received and of the
bytes delivered, and when the local system acknowledged it.

Records are keyed by the alert id (else the request id, else the hit id, else the message
id), so ``hxbus audit --alert ID`` finds every record of one alert, hits included, in one
partition. The writer is an idempotent ``acks=all`` producer, and the bridge flushes it
at the end of every batch BEFORE the consumer commits its offsets: the audit of a
delivery is never lost once the delivery counts as done. It is written at least once: a
crash between the audit flush and the commit writes the batch's records again, with the
same ``audit_id`` (a uuid5 of message id, province, sink and outcome), so readers keep
one. With the Kafka sink, give the sink as the producer: the records then travel in the
sink's transaction and are committed exactly when the delivery is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from fastavro.schema import parse_schema, to_parsing_canonical_form

from bridge.audit_encoding import RecordEncoder
from bridge.audit_record import AUDIT_ID_NAMESPACE as AUDIT_ID_NAMESPACE
from bridge.audit_record import AuditOutcome as AuditOutcome
from bridge.audit_record import AuditScope as AuditScope
from bridge.audit_record import BusPosition as BusPosition
from bridge.audit_record import audit_key as audit_key
from bridge.audit_record import outcome_of_delivery as outcome_of_delivery
from bridge.audit_record import outcome_of_error as outcome_of_error
from runtime import Settings, Signer, open_producer
from runtime.kafka import Producer, ProducerOptions, SendFuture, partition_for_key
from schemas import (
    AUDIT_TOPIC,
    AVRO_DIR,
    Catalog,
    Codec,
    SchemaVersion,
    bridge_principal,
)
from schemas.catalog import schema_fingerprint, self_contained
from schemas.errors import ConfigError
from schemas.headers import (
    CE_ID,
    CE_SOURCE,
    CE_SPECVERSION,
    CE_TIME,
    CE_TYPE,
    CONTENT_TYPE,
    CONTENT_TYPE_HEADER,
    SPEC_VERSION,
)
from schemas.timestamps import format_time

#: The codec's name of the audit record type, and its Avro full name.
AUDIT_RECORD_TYPE = "AuditRecord"
AUDIT_FULLNAME = "hx.audit.AuditRecord"


def audit_schema(avro_dir: Path = AVRO_DIR) -> SchemaVersion:
    """The audit record's schema (``schemas/avro/hx.audit.AuditRecord.avsc``), parsed once.

    The exchange catalog loads only the seven ``hx.exchange`` event types, so the audit
    type gets a catalog of its own, built from the same helpers: same single-object
    framing, same fingerprint rule, the shared types (``hx.exchange.AlertKind``) inlined.
    """
    source = self_contained(AUDIT_FULLNAME, avro_dir)
    parsed = parse_schema(source, named_schemas={})
    if not isinstance(parsed, dict):
        raise ConfigError(f"{AUDIT_FULLNAME}: the audit schema must be a record")
    canonical = to_parsing_canonical_form(parsed)
    return SchemaVersion(
        event_type=AUDIT_RECORD_TYPE,
        version=1,
        schema=parsed,
        canonical_form=canonical,
        fingerprint=schema_fingerprint(canonical),
        source=source,
        path=avro_dir / f"{AUDIT_FULLNAME}.avsc",
    )


@cache
def audit_codec() -> Codec:
    """Encodes and decodes audit records (``decode`` gives ``("AuditRecord", record)``)."""
    return Codec(Catalog([audit_schema()]))


@cache
def audit_encoder() -> RecordEncoder:
    """What the writer encodes with: the same bytes and refusals as ``audit_codec``, by a
    writer compiled from the schema (``bridge.audit_encoding``: 2-3x faster than fastavro)."""
    codec = audit_codec()
    return RecordEncoder(codec, AUDIT_RECORD_TYPE, codec.catalog.current(AUDIT_RECORD_TYPE).schema)


class AuditEncoder(Protocol):
    """The part of ``schemas.Codec`` the writer needs."""

    def encode(self, event_type: str, record: dict[str, Any]) -> bytes: ...


def audit_headers(record: Mapping[str, Any], source: str | None = None) -> list[tuple[str, bytes]]:
    """A complete CloudEvent in binary mode, as every other message on the bus: the
    source is the bridge that wrote it (``source``; by default the bridge of the record's
    province, ``bridge-js``), the time when it was recorded."""
    writer = source or bridge_principal(str(record["province"]))
    return [
        (CE_SPECVERSION, SPEC_VERSION.encode()),
        (CE_ID, str(record["audit_id"]).encode()),
        (CE_SOURCE, writer.encode()),
        (CE_TYPE, AUDIT_RECORD_TYPE.encode()),
        (CE_TIME, format_time(record["recorded_at"]).encode()),
        (CONTENT_TYPE_HEADER, CONTENT_TYPE.encode()),
    ]


#: The headers every audit record carries alike (``audit_headers``), encoded once.
_SPEC_HEADER = (CE_SPECVERSION, SPEC_VERSION.encode())
_TYPE_HEADER = (CE_TYPE, AUDIT_RECORD_TYPE.encode())
_CONTENT_HEADER = (CONTENT_TYPE_HEADER, CONTENT_TYPE.encode())


class AuditProducer(Protocol):
    """What the writer sends with: a ``runtime.kafka.Producer``, or a ``KafkaSink``
    (its transaction)."""

    def send(
        self,
        topic: str,
        *,
        value: bytes,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> SendFuture: ...


#: The audit producer's linger and batch size (see ``AuditWriter.__init__``).
AUDIT_LINGER_MS = 500
AUDIT_BATCH_BYTES = 512 * 1024


class _KeyedSends:
    """One batch's sends to the partitions of the topic as it was at the batch's first
    write (the default partitioner reads them per record), each key's partition computed
    once."""

    __slots__ = ("_chosen", "_partitions", "_producer")

    def __init__(self, producer: Producer, partitions: frozenset[int]) -> None:
        self._producer = producer
        self._partitions = sorted(partitions)
        self._chosen: dict[bytes, int] = {}

    def send(
        self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]]
    ) -> SendFuture:
        partition = self._chosen.get(key)
        if partition is None:
            partition = self._chosen[key] = partition_for_key(key, self._partitions)
        return self._producer.send(topic, value, key, headers, partition)


class AuditWriter:
    """Writes audit records to ``hx.audit`` (or ``topic``); ``flush`` once per batch.

    Each record is signed by the bridge that writes it (``signer``, the key of
    ``bridge-<province>``; ``ce_source`` names that bridge), as agencies sign their
    messages: ``hxbus audit`` verifies it against the key the agreement lists for the
    province the record names, so a record written in another bridge's name, or by
    anyone else able to write the topic, shows as UNVERIFIED. Without a signer (no key:
    development) records go unsigned, and show as UNVERIFIED too.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        topic: str = AUDIT_TOPIC,
        codec: AuditEncoder | None = None,
        producer: AuditProducer | None = None,
        flush_timeout_s: float = 30.0,
        signer: Signer | None = None,
        source: str | None = None,
    ) -> None:
        self.topic = topic
        self._signer = signer
        #: ``ce_source`` of the records: the writing bridge (``bridge-js``).
        self._source = source
        self._codec = codec or audit_encoder()
        self._flush_timeout_s = flush_timeout_s
        self._own_producer: Producer | None = None
        if producer is None:
            # The writer sends a batch's records in one burst and then flushes, which
            # sends at once whatever lingers: a long linger and large batches cost no
            # latency here and spare a sender wake-up (a GIL hand-over) per few records.
            self._own_producer = open_producer(
                settings, ProducerOptions(linger_ms=AUDIT_LINGER_MS, batch_size=AUDIT_BATCH_BYTES)
            )
            producer = self._own_producer
        self._producer: AuditProducer = producer
        self._pending: list[SendFuture] = []
        #: This batch's partition choices (``_partitioner``); None after a flush.
        self._keyed: _KeyedSends | None = None

    def write(self, record: dict[str, Any]) -> None:
        """Send one audit record (as built by ``AuditScope.record``); durable at ``flush``."""
        self.write_many((record,))

    def write_many(self, records: Sequence[dict[str, Any]]) -> None:
        """Send a batch's audit records in one burst; durable at ``flush``.

        Each record is still encoded (and checked against the schema), keyed, given its
        own CloudEvent headers and signed on its own; what the records share is built
        once: the constant headers, ``ce_source`` per province, ``ce_time`` per distinct
        ``recorded_at`` (a bridge stamps a batch's records with one time:
        ``bridge.batch_output``), and the partition per distinct key (``_partitioner``).
        """
        if not records:
            return
        encode, topic, signer, send = (
            self._codec.encode,
            self.topic,
            self._signer,
            self._producer.send,
        )
        partition_of = self._partitioner()
        times: dict[datetime, bytes] = {}
        sources: dict[str, bytes] = {}
        for record in records:
            value = encode(AUDIT_RECORD_TYPE, record)
            key = audit_key(record)
            province = record["province"]
            ce_source = sources.get(province)
            if ce_source is None:
                writer = self._source or bridge_principal(str(province))
                ce_source = sources[province] = writer.encode()
            recorded_at = record["recorded_at"]
            ce_time = times.get(recorded_at)
            if ce_time is None:
                ce_time = times[recorded_at] = format_time(recorded_at).encode()
            headers = [
                _SPEC_HEADER,
                (CE_ID, str(record["audit_id"]).encode()),
                (CE_SOURCE, ce_source),
                _TYPE_HEADER,
                (CE_TIME, ce_time),
                _CONTENT_HEADER,
            ]
            if signer is not None:
                # Signed last, over the final topic, key, value and headers (runtime.signing).
                headers += signer.sign(topic, key, value, headers)
            if partition_of is None:
                future = send(topic, value=value, key=key, headers=headers)
            else:
                future = partition_of.send(topic, value, key, headers)
            self._pending.append(future)

    def _partitioner(self) -> _KeyedSends | None:
        """How this batch's records are sent to the partition of their key: with the
        writer's own producer, the partition is chosen here, once per distinct key, as
        the producer's default partitioner would (``partition_for_key``: Java's murmur2,
        which kafka-python computes in pure Python for every record), over the topic's
        partitions as read once per batch (from the first write after a ``flush``: a
        bridge's refusals are written one by one); None with a given producer (a sink's
        transaction), which partitions as it does."""
        if self._own_producer is None:
            return None
        if self._keyed is None:
            partitions = self._own_producer.partitions_for(self.topic)
            if not partitions:
                return None
            self._keyed = _KeyedSends(self._own_producer, partitions)
        return self._keyed

    def flush(self) -> None:
        """Wait until the broker acknowledged every record written since the last flush.

        Raises ``BrokerError``/``BrokerUnavailable`` when one was not acknowledged: the
        runner must then not commit the batch (it comes again; its records are rewritten).
        """
        pending, self._pending = self._pending, []
        self._keyed = None  # the next batch reads the topic's partitions again
        if self._own_producer is not None:
            self._own_producer.flush(self._flush_timeout_s)
        for future in pending:
            # Done and without error: acknowledged (``get`` would only say so again).
            if not future.is_done or future.error is not None:
                future.get(self._flush_timeout_s)

    def close(self) -> None:
        """Flush what is pending and close the producer this writer made (if it made one)."""
        try:
            self.flush()
        finally:
            if self._own_producer is not None:
                self._own_producer.close(self._flush_timeout_s)

    def __enter__(self) -> AuditWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
