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


@dataclass(frozen=True, slots=True)
class AdminOptions:
    """An admin client's tunables."""

    bootstrap_timeout_ms: int | None = None
    request_timeout_ms: int | None = None
