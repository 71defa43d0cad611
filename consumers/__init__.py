"""The consumer runtime every receiver stands on: poll, decode, verify, dedupe, handle,
retry, dead-letter, commit. See ``consumers.loop`` for the order that makes the
guarantees of design.md true.

The receiving roles built on it are packages of their own beside the runtime:
``consumers.alert_register``, ``consumers.tracker`` and ``consumers.lookup``. The runtime
never imports them (tests/unit/test_import_graph.py)."""

from consumers.authority_gate import AuthorityGate
from consumers.authority_store import (
    FactStore,
    MemoryFacts,
    NullFacts,
    SqliteFacts,
    authority_path,
)
from consumers.batch_work import RunStats
from consumers.commits import OffsetCommitter
from consumers.dedupe import DedupeStore, store_path
from consumers.delivery import Delivery, Handler, Outcome
from consumers.dlq import DeadLetterQueue, DeadLetterSink, Origin, dead_letter_headers
from consumers.lag import LagMonitor, read_lag
from consumers.loop import ConsumerRuntime
from consumers.reading import MessageReader, Poison, expired
from consumers.replay import DeadLetter, ReplayLog, ReplayResult, read_dead_letters, replay
from consumers.retry import RetryBook, RetryPolicy
from consumers.runtime_options import Checks, Polling, Settlement, Subscription

__all__ = [
    "AuthorityGate",
    "Checks",
    "ConsumerRuntime",
    "DeadLetter",
    "DeadLetterQueue",
    "DeadLetterSink",
    "DedupeStore",
    "Delivery",
    "FactStore",
    "Handler",
    "LagMonitor",
    "MemoryFacts",
    "MessageReader",
    "NullFacts",
    "OffsetCommitter",
    "Origin",
    "Outcome",
    "Poison",
    "Polling",
    "ReplayLog",
    "ReplayResult",
    "RetryBook",
    "RetryPolicy",
    "RunStats",
    "Settlement",
    "SqliteFacts",
    "Subscription",
    "authority_path",
    "dead_letter_headers",
    "expired",
    "read_dead_letters",
    "read_lag",
    "replay",
    "store_path",
]
