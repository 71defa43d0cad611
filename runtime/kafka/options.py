"""What a caller may choose about a client; everything else is fixed at the boundary.

Fixed for every producer (design.md, "confirmed = in-sync-replicated"): acks=all and
idempotence, so a retried batch is never written twice. Fixed for every consumer: no
auto-commit (the loop commits only what is durable), ``read_committed`` (aborted
transactional records are never seen). ``None`` means the transport's default. Times
are milliseconds, as Kafka's own settings are named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Compression = Literal["gzip", "snappy", "lz4", "zstd"]

#: The most one fetch returns, all partitions together (both clients' default: 50 MB).
#: A bridge handles ~1-2 MB of records a second, so 4 MiB is seconds of work fetched in
#: milliseconds; the clients' defaults let a consumer with a backlog hold tens of MB it
#: will not reach for a while (issue 17: < 150 MB per bridge process).
DEFAULT_FETCH_MAX_BYTES = 4 * 1024 * 1024
#: The most one fetch returns of one partition (default 1 MB). A record batch larger than
#: this still comes whole (the broker returns the first batch whatever its size).
DEFAULT_MAX_PARTITION_FETCH_BYTES = 512 * 1024
#: librdkafka only: how many KB of fetched records it queues ahead of ``poll`` (its
#: ``queued.max.messages.kbytes``, default 64 MB; it also keeps up to 100,000 records
#: per partition queued). kafka-python fetches a partition again only once its last fetch
#: was consumed, so its read-ahead is bounded by the fetch sizes alone.
DEFAULT_QUEUED_MAX_KBYTES = 4 * 1024


@dataclass(frozen=True, slots=True)
class ProducerOptions:
    """A producer's tunables."""

    linger_ms: int = 5
    batch_size: int | None = None
    compression: Compression | None = None
    #: How long a send may take from ``send`` to the broker's acknowledgement, retries included.
    delivery_timeout_ms: int | None = None
    request_timeout_ms: int | None = None
    #: How long ``send`` may block (buffer full, metadata not known yet).
    max_block_ms: int | None = None
    retries: int | None = None
    #: How long connecting may take before the bootstrap is reported unavailable.
    bootstrap_timeout_ms: int | None = None
    #: Makes a transactional producer (the Kafka sink): ``init_transactions`` first.
    transactional_id: str | None = None
    transaction_timeout_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ConsumerOptions:
    """A consumer's tunables. Without ``group_id`` it only reads assigned partitions and
    answers offset look-ups (no subscribe, no commits)."""

    group_id: str | None = None
    max_poll_records: int = 500
    #: Where a group without a committed offset starts.
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    session_timeout_ms: int | None = None
    heartbeat_interval_ms: int | None = None
    bootstrap_timeout_ms: int | None = None
    #: How far the client reads ahead of ``poll`` (bytes; None: the client's default).
    fetch_max_bytes: int | None = DEFAULT_FETCH_MAX_BYTES
    max_partition_fetch_bytes: int | None = DEFAULT_MAX_PARTITION_FETCH_BYTES
    #: librdkafka only (KB; kafka-python has no such queue).
    queued_max_kbytes: int | None = DEFAULT_QUEUED_MAX_KBYTES


@dataclass(frozen=True, slots=True)
class AdminOptions:
    """An admin client's tunables."""

    bootstrap_timeout_ms: int | None = None
    request_timeout_ms: int | None = None
