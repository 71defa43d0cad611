"""Helpers of the consumer-runtime tests: test events, poison, a file sink, topics.

Not a test module (pytest collects ``test_*.py`` only); imported by the consumer tests and
by ``consumer_worker.py``, the consumer a crash test kills with SIGKILL.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from consumers import (
    Checks,
    ConsumerRuntime,
    DeadLetterQueue,
    DedupeStore,
    Delivery,
    Handler,
    Polling,
    Settlement,
    Subscription,
)
from runtime import CreateTopic, Settings, TopicSpec, open_producer
from runtime.kafka import Admin, ProducerOptions
from schemas import (
    Agreement,
    Codec,
    ExchangeEvent,
    envelope_headers,
    new_message_id,
    parse_event,
    record_key,
)
from schemas.errors import Issue, SinkUnavailable, ValidationFailed

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"
#: The record id field of each event type that the test factory renews per event.
_ID_FIELDS = {
    "PersonAlert": "alert_id",
    "VehicleAlert": "alert_id",
    "AlertStatusChange": "alert_id",
    "AlertHit": "hit_id",
    "HitConfirmation": "hit_id",
    "AssistanceRequest": "request_id",
    "AssistanceResponse": "response_id",
}
#: A handler of these tests rejects (ValidationFailed) an AlertHit whose details say this.
REJECT_MARK = "test: the handler rejects this record"

Raw = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]


def templates(agreement: Agreement) -> list[ExchangeEvent]:
    """The valid fixture events of the repository, one per file."""
    paths = sorted(FIXTURES.glob("*.json"))
    return [parse_event(json.loads(p.read_text(encoding="utf-8")), agreement) for p in paths]


def make_events(agreement: Agreement, count: int, *, seed: int = 7) -> list[ExchangeEvent]:
    """``count`` valid events: the fixtures in turn, each with new ids and live alerts."""
    rng = random.Random(seed)
    bases = templates(agreement)
    valid_until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    events = []
    for n in range(count):
        base = bases[n % len(bases)]
        record = dict(base.record)
        record[_ID_FIELDS[base.event_type]] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if "valid_until" in record:
            record["valid_until"] = valid_until
        envelope = base.envelope.evolve(message_id=new_message_id())
        events.append(ExchangeEvent(envelope, record))
    return events


def expired_alert(agreement: Agreement) -> ExchangeEvent:
    """A PersonAlert whose valid_until passed an hour ago."""
    base = next(e for e in templates(agreement) if e.event_type == "PersonAlert")
    now = datetime.now(UTC).replace(microsecond=0)
    record = {
        **base.record,
        "alert_id": str(uuid.uuid4()),
        "issued_at": now - timedelta(days=2),
        "valid_until": now - timedelta(hours=1),
    }
    return ExchangeEvent(base.envelope.evolve(message_id=new_message_id()), record)


def rejected_hit(agreement: Agreement) -> ExchangeEvent:
    """A valid AlertHit that the test handler refuses with ValidationFailed."""
    base = next(e for e in templates(agreement) if e.event_type == "AlertHit")
    record = {**base.record, "hit_id": str(uuid.uuid4()), "details": REJECT_MARK}
    return ExchangeEvent(base.envelope.evolve(message_id=new_message_id()), record)


def encode(codec: Codec, event: ExchangeEvent) -> Raw:
    """Key, value and headers of ``event`` as the Publisher writes them (unsigned)."""
    value = codec.encode(event.event_type, event.record)
    key = record_key(event.event_type, event.record)
    return key, value, envelope_headers(event.envelope, codec.fingerprint(event.event_type))


def poison_random_bytes(rng: random.Random) -> Raw:
    """Bytes that are not Avro single-object encoding at all."""
    return b"junk", rng.randbytes(rng.randint(1, 64)), []


def poison_unknown_fingerprint(codec: Codec, event: ExchangeEvent) -> Raw:
    """A well-framed value whose writer fingerprint is in no catalog."""
    key, value, headers = encode(codec, event)
    assert value is not None
    return key, value[:2] + b"\xde\xad\xbe\xef\xde\xad\xbe\xef" + value[10:], headers


def poison_without_headers(codec: Codec, event: ExchangeEvent) -> Raw:
    """A value that decodes, sent without any CloudEvents header."""
    key, value, _headers = encode(codec, event)
    return key, value, []


def poison_wrong_type(codec: Codec, event: ExchangeEvent) -> Raw:
    """A value that decodes, with a ce_type header naming another event type."""
    key, value, headers = encode(codec, event)
    wrong = "AlertHit" if event.event_type != "AlertHit" else "PersonAlert"
    return key, value, [(k, wrong.encode() if k == "ce_type" else v) for k, v in headers]


def create_topic(settings: Settings, admin: Admin, name: str, partitions: int) -> None:
    """A test topic with one replica (the development broker has one node)."""
    CreateTopic(TopicSpec(name, partitions, 1, {})).apply(admin)


@contextmanager
def fresh_topic(settings: Settings, admin: Admin, name: str, partitions: int) -> Iterator[str]:
    """A test topic of ``partitions``, deleted afterwards together with the DLQs of the
    test's groups (``g-<name without its prefix>...``)."""
    create_topic(settings, admin, name, partitions)
    try:
        yield name
    finally:
        existing = set(admin.list_topics())
        dlqs = f"hx.dlq.g-{name[2:]}"
        admin.delete_topics([t for t in existing if t == name or t.startswith(dlqs)])


def runtime_for(
    settings: Settings, group: str, topic: str, handler: Handler, codec: Codec, **polling: Any
) -> tuple[ConsumerRuntime, DedupeStore, DeadLetterQueue]:
    """A consumer runtime of ``group`` on ``topic`` with a dedupe store and a DLQ of its
    own (``polling``: ``Polling``'s options); the caller closes the store and the DLQ."""
    store = DedupeStore.for_group(settings.state_dir, group)
    dlq = DeadLetterQueue(settings, group, replication=1, min_insync_replicas=1)
    consumer = ConsumerRuntime(
        settings,
        Subscription(group, [topic], role="test"),
        handler,
        Checks(codec, store),
        Settlement(dlq),
        Polling(**polling),
    )
    return consumer, store, dlq


def produce(
    settings: Settings, topic: str, messages: Iterable[Raw], partition: int | None = None
) -> None:
    """Send ``messages`` with a plain idempotent producer and wait for every ack."""
    producer = open_producer(settings, ProducerOptions(linger_ms=20))
    try:
        futures = [
            producer.send(topic, key=key, value=value, headers=headers, partition=partition)
            for key, value, headers in messages
        ]
        producer.flush(60)
        for future in futures:
            future.get(10)
    finally:
        producer.close()


@dataclass
class FileSink:
    """A local system that takes one file per message, named by message id.

    ``handle`` writes ``<message_id>.json`` through a temporary file and ``os.link``, which
    refuses to overwrite: a second delivery of the same message finds the file there and
    counts as ``already_present`` (the sink's own idempotency). Every first write is
    appended to ``journal.log`` (topic partition offset message_id), so a test can check
    order and exactly-once. ``flush`` fsyncs the directory once per batch.
    """

    root: Path
    #: Refuse AlertHits marked REJECT_MARK (the "bug" a DLQ replay test fixes).
    reject_marked: bool = True
    #: Seconds every flush takes longer (a slow disk), so a test can act mid-stream.
    flush_delay: float = 0.0
    written: int = 0
    already_present: int = 0
    flushes: int = 0
    _journal: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._journal = (self.root / "journal.log").open("a", encoding="utf-8")

    def handle(self, message: Delivery) -> None:
        marked = message.event_type == "AlertHit" and message.record.get("details") == REJECT_MARK
        if marked and self.reject_marked:
            raise ValidationFailed([Issue("details", "the test handler rejects this record")])
        final = self.root / f"{message.message_id}.json"
        temporary = self.root / f".{message.message_id}.{os.getpid()}.tmp"
        body = {
            "message_id": message.message_id,
            "event_type": message.event_type,
            "topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
        }
        temporary.write_text(json.dumps(body), encoding="utf-8")
        try:
            os.link(temporary, final)
        except FileExistsError:
            self.already_present += 1
            return
        finally:
            temporary.unlink()
        self.written += 1
        self._journal.write(
            f"{message.topic} {message.partition} {message.offset} {message.message_id}\n"
        )
        self._journal.flush()

    def flush(self) -> None:
        time.sleep(self.flush_delay)
        self.flushes += 1
        self._journal.flush()
        os.fsync(self._journal.fileno())
        descriptor = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def close(self) -> None:
        self._journal.close()


def message_files(root: Path) -> set[str]:
    """Message ids the sink holds (one file each)."""
    return {p.stem for p in root.glob("*.json")}


def journal(root: Path) -> list[tuple[str, int, int, str]]:
    """Every first write the sink journalled: (topic, partition, offset, message id)."""
    lines = (root / "journal.log").read_text(encoding="utf-8").splitlines()
    return [(t, int(p), int(o), m) for t, p, o, m in (line.split() for line in lines)]


@dataclass
class FlakySink(FileSink):
    """A FileSink that is "down" for the first ``failures`` attempts on one partition."""

    failing_partition: int = 0
    failures: int = 0
    attempts_refused: int = 0

    def handle(self, message: Delivery) -> None:
        if message.partition == self.failing_partition and self.attempts_refused < self.failures:
            self.attempts_refused += 1
            raise SinkUnavailable(f"test sink down (attempt {self.attempts_refused})")
        super().handle(message)


def interleave(good: list[Raw], poison: list[Raw], seed: int = 11) -> Iterator[Raw]:
    """The good messages in order, with the poison ones spread among them at random."""
    rng = random.Random(seed)
    slots = sorted(rng.sample(range(len(good) + len(poison)), len(poison)))
    poison_iter, good_iter = iter(poison), iter(good)
    wanted = set(slots)
    for position in range(len(good) + len(poison)):
        yield next(poison_iter) if position in wanted else next(good_iter)
