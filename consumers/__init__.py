"""The consumer runtime every receiver stands on: poll, decode, verify, dedupe, handle,
retry, dead-letter, commit. See ``consumers.loop`` for the order that makes the
guarantees of design.md true."""

from consumers.dedupe import DedupeStore, store_path
from consumers.delivery import Delivery, Handler, Outcome
from consumers.dlq import DeadLetterQueue, DeadLetterSink, Origin, dead_letter_headers
from consumers.loop import ConsumerRuntime, RunStats
from consumers.reading import MessageReader, Poison, expired
from consumers.replay import DeadLetter, ReplayLog, ReplayResult, read_dead_letters, replay
from consumers.retry import RetryBook, RetryPolicy

__all__ = [
    "ConsumerRuntime",
    "DeadLetter",
    "DeadLetterQueue",
    "DeadLetterSink",
    "DedupeStore",
    "Delivery",
    "Handler",
    "MessageReader",
    "Origin",
    "Outcome",
    "Poison",
    "ReplayLog",
    "ReplayResult",
    "RetryBook",
    "RetryPolicy",
    "RunStats",
    "dead_letter_headers",
    "expired",
    "read_dead_letters",
    "replay",
    "store_path",
]
