"""The consumer runtime every receiver stands on: poll, decode, verify, dedupe, handle,
retry, dead-letter, commit. See ``consumers.loop`` for the order that makes the
guarantees of design.md true."""

from consumers.alert_register import LoadStats, RegisterWriter, load_register, run_register
from consumers.alert_state import AlertRegister, AlertState
from consumers.authority_gate import AuthorityGate, RegisterFacts, RegisterLookup
from consumers.authority_store import (
    FactStore,
    MemoryFacts,
    NullFacts,
    SqliteFacts,
    authority_path,
)
from consumers.dedupe import DedupeStore, store_path
from consumers.delivery import Delivery, Handler, Outcome
from consumers.dlq import DeadLetterQueue, DeadLetterSink, Origin, dead_letter_headers
from consumers.issued_copies import (
    IssuedCopy,
    is_shared_copy,
    learn_audiences,
    read_issued_copies,
    read_shared_copies,
)
from consumers.lag import LagMonitor, read_lag
from consumers.loop import ConsumerRuntime, RunStats
from consumers.reading import MessageReader, Poison, expired
from consumers.replay import DeadLetter, ReplayLog, ReplayResult, read_dead_letters, replay
from consumers.retry import RetryBook, RetryPolicy
from consumers.second_notice import SECOND_NOTICE_MARK, second_notice, second_notice_id
from consumers.tracker import DeadlineWatcher, NoticeSender, RequestTracker
from consumers.tracker_state import ItemState, NoticeState, TrackedItem
from consumers.tracker_store import TrackerStore, tracker_path

__all__ = [
    "SECOND_NOTICE_MARK",
    "AlertRegister",
    "AlertState",
    "AuthorityGate",
    "ConsumerRuntime",
    "DeadLetter",
    "DeadLetterQueue",
    "DeadLetterSink",
    "DeadlineWatcher",
    "DedupeStore",
    "Delivery",
    "FactStore",
    "Handler",
    "IssuedCopy",
    "ItemState",
    "LagMonitor",
    "LoadStats",
    "MemoryFacts",
    "MessageReader",
    "NoticeSender",
    "NoticeState",
    "NullFacts",
    "Origin",
    "Outcome",
    "Poison",
    "RegisterFacts",
    "RegisterLookup",
    "RegisterWriter",
    "ReplayLog",
    "ReplayResult",
    "RequestTracker",
    "RetryBook",
    "RetryPolicy",
    "RunStats",
    "SqliteFacts",
    "TrackedItem",
    "TrackerStore",
    "authority_path",
    "dead_letter_headers",
    "expired",
    "is_shared_copy",
    "learn_audiences",
    "load_register",
    "read_dead_letters",
    "read_issued_copies",
    "read_lag",
    "read_shared_copies",
    "replay",
    "run_register",
    "second_notice",
    "second_notice_id",
    "store_path",
    "tracker_path",
]
