"""The operator's lookup service: hit/no-hit answers on need-to-know alerts' subjects.

What it holds and why (docs/security.md, "Need to know"):

- the **lookup key**, a random secret in ``<state>/secrets/lookup-key`` (0600, made on
  first start like the SCRAM passwords). Only this service reads it; no member holds it;
- an **index** of the restricted alerts, folded from the issuers' own copies in the
  inboxes (which the operator reads; followed as group ``hx.lookup.inboxes``, whose offsets
  are committed once the index holds what they covered) and kept on ``hx.lookup.index``
  (compacted; no member has an ACL on it): per alert its id, issuer, revision, status,
  validity and ``lookup_token`` = HMAC-SHA256(lookup key, subject key). Nothing else.
  Whoever copies the index topic cannot test identity numbers against it without the key.

It answers ``hx.lookup.requests`` (``schemas.lookup``): a request must verify as signed by
the agency it names (when the agreement has keys), is counted per agency
(``hx_lookups_total{agency,outcome}``, no values) and rate-limited per agency (a token
bucket: ``RATE_PER_S``, ``BURST``), so a member cannot sweep the 18-digit number space
through it either. The reply names the issuing agencies of the live alerts on the
subject, and alert ids only of the asker's own alerts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from consumers.alert_register.issued_copies import is_issuer_copy, may_be_issuer_copy
from consumers.delivery import Delivery
from consumers.reading import MessageReader, header_pairs, utc_now
from runtime import Settings, Verifier, open_admin, open_consumer, open_producer
from runtime.closing import close_all
from runtime.idle import IdleClock
from runtime.kafka import (
    Consumer,
    ConsumerOptions,
    Producer,
    ProducerOptions,
    Record,
    TopicPartition,
)
from runtime.metrics import LOOKUPS
from runtime.secrets import ensure_secret, secrets_dir
from runtime.topic_end import beginnings, read_to_end
from schemas import Agreement, Codec, inbox_topic
from schemas.audiences import is_restricted
from schemas.errors import HxError
from schemas.lookup import (
    LOOKUP_INDEX,
    LOOKUP_REQUESTS,
    IndexEntry,
    LookupReply,
    LookupRequest,
    lookup_replies_topic,
)
from schemas.subjects import lookup_token, subject_of

log = structlog.get_logger("hxbus.lookup")

#: Questions per second an agency may ask, and how many it may ask at once.
RATE_PER_S = 20.0
BURST = 200.0
#: The consumer group of the request topic.
LOOKUP_GROUP = "hx.lookup"
INBOX_GROUP = f"{LOOKUP_GROUP}.inboxes"  #: the inbox follower's (G.inboxes for --group G)
ALERT_TYPES = frozenset({"PersonAlert", "VehicleAlert"})


def lookup_key_file(state_dir: Path) -> Path:
    """The lookup key's file under the operator's state directory."""
    return secrets_dir(state_dir) / "lookup-key"


def load_lookup_key(state_dir: Path) -> bytes:
    """The lookup key, generated on first use (0600)."""
    return ensure_secret(lookup_key_file(state_dir)).encode()


class LookupIndex:
    """Restricted alerts by keyed subject token; folds issuer copies, answers questions."""

    def __init__(self, key: bytes, clock: Callable[[], datetime] = utc_now) -> None:
        self._key = key
        self._clock = clock
        self._entries: dict[str, IndexEntry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[IndexEntry]:
        return list(self._entries.values())

    def merge(self, entry: IndexEntry) -> bool:
        """Fold one entry in; whether the alert's entry changed."""
        old = self._entries.get(entry.alert_id)
        new = entry if old is None else _merge(old, entry)
        if new == old:
            return False
        self._entries[entry.alert_id] = new
        return True

    def fold(self, event_type: str, record: dict[str, Any]) -> str | None:
        """Fold an issuer's own copy; the alert id when its entry changed."""
        entry = self._entry_of(event_type, record)
        if entry is None or not self.merge(entry):
            return None
        return entry.alert_id

    def answer(self, asker: str, request: LookupRequest) -> LookupReply:
        """Hit or no hit on the subject; the issuers to contact; the asker's own ids."""
        token = lookup_token(self._key, request.subject_key)
        now = self._clock()
        live = [e for e in self._entries.values() if e.token == token and _live(e, now)]
        if not live:
            return LookupReply(request.request_id)
        return LookupReply(
            request.request_id,
            hit=True,
            issuers=tuple(sorted({e.issuer for e in live})),
            alert_ids=tuple(sorted(e.alert_id for e in live if e.issuer == asker)),
        )

    def _entry_of(self, event_type: str, record: dict[str, Any]) -> IndexEntry | None:
        if event_type in ALERT_TYPES:
            if not is_restricted(record.get("handling")):
                return None
            subject = subject_of(event_type, record)
            valid_until = record.get("valid_until")
            return IndexEntry(
                alert_id=str(record["alert_id"]),
                issuer=str(record["issuing_agency"]),
                token=lookup_token(self._key, subject.key) if subject else None,
                revision=int(record.get("revision") or 0),
                valid_until=valid_until.isoformat() if isinstance(valid_until, datetime) else None,
            )
        if event_type == "AlertStatusChange":
            changed = record.get("changed_at")
            return IndexEntry(
                alert_id=str(record["alert_id"]),
                issuer=str(record["agency"]),
                status=str(record["status"]),
                changed_at=changed.isoformat() if isinstance(changed, datetime) else None,
            )
        return None


def _merge(old: IndexEntry, new: IndexEntry) -> IndexEntry:
    """Higher revision wins the alert's fields; a status change ends it for good."""
    base = new if new.revision > old.revision else old
    ended = [e for e in (old, new) if e.status != "ACTIVE"]
    if not ended:
        return base
    first = min(ended, key=lambda e: (e.changed_at or "~", e.status))
    return replace(base, status=first.status, changed_at=first.changed_at)


def _live(entry: IndexEntry, now: datetime) -> bool:
    if entry.status != "ACTIVE" or entry.revision == 0 or entry.valid_until is None:
        return False
    return now < datetime.fromisoformat(entry.valid_until)


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimits:
    """One token bucket per agency (monotonic clock)."""

    def __init__(self, rate_per_s: float = RATE_PER_S, burst: float = BURST) -> None:
        self._rate = rate_per_s
        self._burst = burst
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, agency: str, now: float | None = None) -> bool:
        moment = time.monotonic() if now is None else now
        bucket = self._buckets.setdefault(agency, _Bucket(self._burst, moment))
        bucket.tokens = min(self._burst, bucket.tokens + (moment - bucket.at) * self._rate)
        bucket.at = moment
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True


@dataclass(frozen=True, slots=True)
class _SignedRequest:
    """A request record in the shape a ``Verifier`` checks (``runtime.signing``)."""

    topic: str
    key: bytes | None
    value: bytes
    header_list: list[tuple[str, bytes]]
    source: str


class LookupService:
    """Answers lookup requests from the index; one instance, one thread."""

    def __init__(
        self,
        index: LookupIndex,
        agencies: Iterable[str],
        producer: Producer,
        *,
        verifier: Verifier | None = None,
        limits: RateLimits | None = None,
    ) -> None:
        self.index = index
        self._agencies = frozenset(agencies)
        self._producer = producer
        self._verifier = verifier
        self._limits = limits or RateLimits()

    def handle_request(self, record: Record) -> LookupReply | None:
        """Answer one request record (None when it names no agency to answer)."""
        pairs = header_pairs(record)
        source = next((v.decode("utf-8", "replace") for k, v in pairs if k == "ce_source"), "")
        if source not in self._agencies:
            LOOKUPS.labels("unknown", "malformed").inc()
            log.warning("lookup_refused", reason="unknown_source", offset=record.offset)
            return None
        try:
            request = LookupRequest.from_json(record.value or b"")
        except (ValueError, TypeError, KeyError):
            return self._refuse(source, "", "malformed")
        if self._verifier is not None:
            signed = _SignedRequest(record.topic, record.key, record.value or b"", pairs, source)
            try:
                self._verifier.verify(signed)
            except HxError:
                return self._refuse(source, request.request_id, "unverified")
        if not self._limits.allow(source):
            return self._refuse(source, request.request_id, "rate_limited")
        reply = self.index.answer(source, request)
        LOOKUPS.labels(source, "hit" if reply.hit else "no_hit").inc()
        self._send(source, reply)
        return reply

    def _refuse(self, source: str, request_id: str, reason: str) -> LookupReply:
        LOOKUPS.labels(source, reason).inc()
        log.warning("lookup_refused", agency=source, reason=reason)
        reply = LookupReply(request_id, refused=reason)
        self._send(source, reply)
        return reply

    def _send(self, agency: str, reply: LookupReply) -> None:
        self._producer.send(
            lookup_replies_topic(agency), key=agency.encode(), value=reply.to_json()
        )


def load_index(
    settings: Settings,
    agreement: Agreement,
    index: LookupIndex,
    *,
    verifier: Verifier | None = None,
    group: str = LOOKUP_GROUP,
) -> tuple[set[str], dict[TopicPartition, int]]:
    """The index from its topic, then the inboxes' issuer copies past what it holds.

    The service commits its inbox offsets (group ``INBOX_GROUP``) only after the entries
    they changed were written to the index topic, so everything before them is in the
    index; the inboxes are read from there (from the beginning on a first start). The fold
    is idempotent: an overlap does no harm. Returns the alerts the inboxes changed (to
    write) and the inbox end offsets read to (where following continues)."""
    consumer = open_consumer(settings)
    reader = MessageReader(Codec(), verifier)
    changed: set[str] = set()
    try:
        for record in read_to_end(consumer, beginnings(consumer, [LOOKUP_INDEX])):
            if record.value:
                try:
                    index.merge(IndexEntry.from_json(record.value))
                except (ValueError, TypeError, KeyError):
                    log.warning("lookup_index_entry_unreadable", offset=record.offset)
        inboxes = [inbox_topic(a.id) for a in agreement.agencies]
        starts = beginnings(consumer, inboxes)
        if starts:
            admin = open_admin(settings)
            try:
                committed = admin.committed_offsets(f"{group}.inboxes", list(starts))
            finally:
                admin.close()
            for tp, offset in committed.items():
                if tp in starts and offset is not None:
                    starts[tp] = max(starts[tp], offset)
        ends = consumer.end_offsets(list(starts)) if starts else {}
        for record in read_to_end(consumer, starts):
            alert_id = _fold_record(index, reader, record)
            if alert_id is not None:
                changed.add(alert_id)
    finally:
        consumer.close()
    log.info("lookup_index_loaded", alerts=len(index), changed=len(changed))
    return changed, ends


def _fold_record(index: LookupIndex, reader: MessageReader, record: Record) -> str | None:
    # Most inbox traffic cannot be an issuer copy: left undecoded and unverified.
    read = reader.read(record) if may_be_issuer_copy(record) else None
    if not isinstance(read, Delivery) or not is_issuer_copy(read):
        return None
    return index.fold(read.event_type, dict(read.record))


def write_entries(producer: Producer, index: LookupIndex, alert_ids: Iterable[str]) -> None:
    """Write the entries of ``alert_ids`` to the index topic and wait for them."""
    by_id = {e.alert_id: e for e in index.entries()}
    futures = [
        producer.send(LOOKUP_INDEX, key=i.encode(), value=by_id[i].to_json())
        for i in sorted(alert_ids)
        if i in by_id
    ]
    producer.flush(60)
    for future in futures:
        future.get(0)


def _commit_positions(consumer: Consumer) -> None:
    """Commit where ``consumer`` is now on every partition it holds."""
    consumer.commit({tp: consumer.position(tp) for tp in consumer.assignment()})


def run_lookup(
    settings: Settings,
    agreement: Agreement,
    *,
    verifier: Verifier | None = None,
    stop: threading.Event | None = None,
    on_ready: Callable[[], None] | None = None,
    limits: RateLimits | None = None,
    group: str = LOOKUP_GROUP,
    idle_timeout: float | None = None,
) -> int:
    """Load the index, then follow the inboxes and answer requests until ``stop`` (or, with
    ``idle_timeout``, until no question arrived for that long once it held its requests' partitions:
    ``runtime.idle``).

    Returns how many requests were answered (tests, the command's summary)."""
    stop = stop or threading.Event()
    index = LookupIndex(load_lookup_key(settings.state_dir))
    changed, ends = load_index(settings, agreement, index, verifier=verifier, group=group)
    producer = open_producer(settings, ProducerOptions(linger_ms=2))
    service = LookupService(
        index, (a.id for a in agreement.agencies), producer, verifier=verifier, limits=limits
    )
    follower = open_consumer(settings, ConsumerOptions(group_id=f"{group}.inboxes"))
    requests = open_consumer(settings, ConsumerOptions(group_id=group))
    requests.subscribe([LOOKUP_REQUESTS])
    reader = MessageReader(Codec(), verifier)
    answered = 0
    idle, seen = IdleClock(idle_timeout), 0
    try:
        write_entries(producer, index, changed)
        follower.assign(sorted(ends))
        for tp, offset in ends.items():
            follower.seek(tp, offset)
        if ends:
            _commit_positions(follower)  # the index now holds everything up to here
        if on_ready is not None:
            on_ready()
        while not stop.is_set():
            # Briefly: with poll(0) here kafka-python 3.0 starved the questions' heartbeats.
            polled = follower.poll(0.05)
            folded = {
                alert_id
                for records in polled.values()
                for record in records
                if (alert_id := _fold_record(index, reader, record)) is not None
            }
            if folded:
                write_entries(producer, index, folded)
            if polled:
                _commit_positions(follower)
            asked = requests.poll(0.1)
            replies = [service.handle_request(r) for rs in asked.values() for r in rs]
            if asked:
                producer.flush(30)
                _commit_positions(requests)
                answered += sum(1 for r in replies if r is not None)
            seen += sum(len(rs) for rs in asked.values())  # inbox traffic never ends: not it
            if idle.expired(reading=bool(requests.assignment()), progress=seen):
                log.info("idle_stop", role="lookup", idle_s=idle_timeout, seen=seen)
                break
    finally:
        parts = {"follower": follower.close, "requests": requests.close, "producer": producer.close}
        close_all(parts, log, "lookup_close_failed")
    return answered
