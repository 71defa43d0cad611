"""The consumer runtime's options, in the groups a role thinks in.

``ConsumerRuntime(settings, subscription, handler, checks, settlement, polling)``:

- ``Subscription``: which group, which topics, under which role name (metrics, logs);
- ``Checks``: what every message is checked against before the handler sees it (the
  codec, the dedupe store, the signature verifier, the authority gate);
- ``Settlement``: where the messages that are not handled end (the DLQ, an expired
  alert's hook) and who commits the offsets (the consumer, or a sink that commits them in
  its own transaction);
- ``Polling``: how the consumer is made and driven (batch size, poll timeout, retry
  policy, consumer options, lag sampling, the clock).

Each role fills the groups it needs and takes the defaults of the rest; the strategies
they imply (``consumers.commits``, ``consumers.expiry``) are chosen once, when the runtime
is built, never per message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from consumers.authority_gate import AuthorityGate
from consumers.commits import OffsetCommitter
from consumers.dedupe import DedupeStore
from consumers.delivery import Delivery
from consumers.dlq import DeadLetterSink
from consumers.reading import Decoder, utc_now
from consumers.retry import RetryPolicy
from runtime import Settings, Verifier, open_consumer
from runtime.kafka import Consumer, ConsumerOptions


@dataclass(frozen=True, slots=True)
class Subscription:
    """One worker of consumer group ``group`` on ``topics``; ``role`` labels its metrics."""

    group: str
    topics: Sequence[str]
    role: str = "consumer"


@dataclass(frozen=True, slots=True)
class Checks:
    """What a message must pass before the handler sees it (consumers.loop, steps 1-3).

    ``verifier``: None only where nothing is signed (development). ``authority``: who may
    say what (design.md, Authority): every role passes one; None only for runtimes on test
    topics and benchmarks, which carry no exchange conversation.
    """

    codec: Decoder
    dedupe_store: DedupeStore
    verifier: Verifier | None = None
    authority: AuthorityGate | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    """Where what is not handled ends, and who commits (consumers.loop, steps 4-6).

    ``offset_committer``: a sink that commits the offsets in its own transaction (the
    Kafka sink); None: the consumer commits. ``on_expired``: called with each alert
    skipped as expired (a bridge audits the refusal).
    """

    dlq: DeadLetterSink
    offset_committer: OffsetCommitter | None = None
    on_expired: Callable[[Delivery], None] | None = None


@dataclass(frozen=True, slots=True)
class Polling:
    """How the worker's consumer is made and driven.

    ``lag_every_s``: read the group's lag from the broker this often (``consumers.lag``);
    None: every DEFAULT_LAG_EVERY_S while the process serves /metrics when ``run``
    starts; 0: never.
    """

    max_records: int = 500
    poll_timeout_s: float = 1.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    consumer_options: ConsumerOptions = field(default_factory=ConsumerOptions)
    consumer_factory: Callable[[Settings, ConsumerOptions], Consumer] = open_consumer
    lag_every_s: float | None = None
    clock: Callable[[], datetime] = utc_now
