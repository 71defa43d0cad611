"""The request tracker role: who owes whom an answer, by when (``state``, kept durable in
``store``), the consumer's handler and the deadline watcher (``service``), and the second
notice it sends when an answer is late (``second_notice``)."""

from consumers.tracker.second_notice import SECOND_NOTICE_MARK, second_notice, second_notice_id
from consumers.tracker.service import (
    DEFAULT_INTERVAL_S,
    DeadlineWatcher,
    NoticeSender,
    RequestTracker,
    inbox_topics,
)
from consumers.tracker.state import (
    Answer,
    Expectation,
    ItemState,
    NoticeState,
    TrackedItem,
    answer_of,
    expectation_of,
)
from consumers.tracker.store import DEFAULT_GROUP, TrackerStore, tracker_path

__all__ = [
    "DEFAULT_GROUP",
    "DEFAULT_INTERVAL_S",
    "SECOND_NOTICE_MARK",
    "Answer",
    "DeadlineWatcher",
    "Expectation",
    "ItemState",
    "NoticeSender",
    "NoticeState",
    "RequestTracker",
    "TrackedItem",
    "TrackerStore",
    "answer_of",
    "expectation_of",
    "inbox_topics",
    "second_notice",
    "second_notice_id",
    "tracker_path",
]
