"""The consumer loop's bookkeeping, against an in-memory stand-in for KafkaConsumer.

The real broker tests (tests/integration/test_consumer_*.py) prove the loop end to end;
these pin down the order of flush, mark and commit and what is rewound when a step
fails, which a real broker cannot be made to fail at will.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from client_fakes import FakeConsumer, record
from prometheus_client import REGISTRY

from consumers import (
    AuthorityGate,
    Checks,
    ConsumerRuntime,
    DedupeStore,
    Delivery,
    MemoryFacts,
    Origin,
    Polling,
    RetryPolicy,
    Settlement,
    Subscription,
)
from runtime import Settings
from runtime.kafka import ConsumerOptions, Record, TopicPartition
from schemas import (
    DEFAULT_AGREEMENT_PATH,
    Codec,
    ExchangeEvent,
    envelope_headers,
    load_agreement,
    new_message_id,
    parse_event,
    record_key,
)
from schemas.authority_facts import AlertFacts, Lesson
from schemas.errors import (
    BrokerUnavailable,
    Issue,
    SecurityError,
    SinkUnavailable,
    ValidationFailed,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"
TOPIC = "t-loop"
FAST = RetryPolicy(base_delay=0.01, max_delay=0.02)


@dataclass
class RecordingHandler:
    """Keeps handled message ids; can refuse, fail retriably, or fail its flush."""

    handled: list[str] = field(default_factory=list)
    durable: list[str] = field(default_factory=list)
    refuse: Callable[[Delivery], BaseException | None] = lambda _m: None
    flush_failures: int = 0
    _batch: list[str] = field(default_factory=list)

    def handle(self, message: Delivery) -> None:
        error = self.refuse(message)
        if error is not None:
            raise error
        self._batch.append(message.message_id)
        self.handled.append(message.message_id)

    def flush(self) -> None:
        if self.flush_failures:
            self.flush_failures -= 1
            self._batch.clear()
            raise SinkUnavailable("test: disk full")
        self.durable.extend(self._batch)
        self._batch.clear()


@dataclass
class FakeDeadLetters:
    """Keeps DLQ writes; ``refuse`` origins are reported not acknowledged (once each)."""

    sent: list[tuple[Origin, str]] = field(default_factory=list)
    refuse: set[Origin] = field(default_factory=set)
    _queued: list[Origin] = field(default_factory=list)

    def send(
        self, origin: Origin, *, key: Any, value: Any, headers: Any, error: Any, reason: str
    ) -> None:
        self._queued.append(origin)
        self.sent.append((origin, reason))

    def flush(self) -> set[Origin]:
        failed = {o for o in self._queued if o in self.refuse}
        self.refuse -= failed
        self._queued.clear()
        return failed


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


@pytest.fixture(scope="module")
def hit_template() -> ExchangeEvent:
    agreement = load_agreement(DEFAULT_AGREEMENT_PATH)
    text = (FIXTURES / "alert_hit_huaibei.json").read_text(encoding="utf-8")
    return parse_event(json.loads(text), agreement)


@pytest.fixture(scope="module")
def alert_template() -> ExchangeEvent:
    agreement = load_agreement(DEFAULT_AGREEMENT_PATH)
    text = (FIXTURES / "person_alert_xuzhou.json").read_text(encoding="utf-8")
    return parse_event(json.loads(text), agreement)


def wire(codec: Codec, event: ExchangeEvent) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    value = codec.encode(event.event_type, event.record)
    headers = envelope_headers(event.envelope, codec.fingerprint(event.event_type))
    return record_key(event.event_type, event.record), value, headers


def hits(template: ExchangeEvent, count: int) -> list[ExchangeEvent]:
    return [
        ExchangeEvent(template.envelope.evolve(message_id=new_message_id()), dict(template.record))
        for _ in range(count)
    ]


def partition_log(codec: Codec, partition: int, raws: list[Any]) -> list[Record]:
    out = []
    for offset, raw in enumerate(raws):
        if isinstance(raw, ExchangeEvent):
            raw = wire(codec, raw)
        key, value, headers = raw
        out.append(record(TOPIC, partition, offset, key, value, headers))
    return out


@dataclass
class Bench:
    """One group's durable state (committed offsets, dedupe file) across runtime restarts."""

    tmp_path: Path
    codec: Codec
    log: dict[TopicPartition, list[Record]]
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    consumers: list[FakeConsumer] = field(default_factory=list)
    stores: list[DedupeStore] = field(default_factory=list)

    def runtime(self, handler: Any, dlq: Any, **options: Any) -> ConsumerRuntime:
        def factory(_settings: Settings, _options: ConsumerOptions) -> FakeConsumer:
            consumer = FakeConsumer(self.log, self.committed)
            self.consumers.append(consumer)
            return consumer

        store = DedupeStore(self.tmp_path / "dedupe.sqlite")
        self.stores.append(store)
        return ConsumerRuntime(
            Settings(state_dir=self.tmp_path),
            Subscription("g-loop", [TOPIC], role=options.pop("role", "consumer")),
            handler,
            Checks(
                self.codec,
                store,
                verifier=options.pop("verifier", None),
                authority=options.pop("authority", None),
            ),
            Settlement(
                dlq,
                offset_committer=options.pop("offset_committer", None),
                on_expired=options.pop("on_expired", None),
            ),
            Polling(
                retry=options.pop("retry", FAST),
                consumer_factory=options.pop("consumer_factory", factory),
                poll_timeout_s=0.01,
                **options,
            ),
        )


@pytest.fixture
def bench(tmp_path: Path, codec: Codec) -> Iterator[Callable[..., Bench]]:
    made: list[Bench] = []

    def make(*partitions: list[Any]) -> Bench:
        log = {
            TopicPartition(TOPIC, n): partition_log(codec, n, raws)
            for n, raws in enumerate(partitions)
        }
        made.append(Bench(tmp_path, codec, log))
        return made[-1]

    yield make
    for one in made:
        for store in one.stores:
            store.close()


def ids(events: list[ExchangeEvent]) -> list[str]:
    return [e.envelope.message_id for e in events]


def test_every_message_is_handled_flushed_and_committed(
    bench: Callable[..., Bench], hit_template: ExchangeEvent
) -> None:
    """Good messages are handled in order, made durable, and committed at last offset + 1."""
    first, second = hits(hit_template, 5), hits(hit_template, 3)
    b = bench(first, second)
    handler = RecordingHandler()
    stats = b.runtime(handler, FakeDeadLetters()).run(idle_timeout=0.05)
    assert (
        ids(first) + ids(second),
        {TopicPartition(TOPIC, 0): 5, TopicPartition(TOPIC, 1): 3},
        8,
    ) == (
        handler.durable,
        b.committed,
        stats.handled,
    )


def test_redelivery_after_mark_before_commit_is_skipped(
    bench: Callable[..., Bench], hit_template: ExchangeEvent
) -> None:
    """A crash after the dedupe mark but before the commit: the redelivered batch is skipped."""
    events = hits(hit_template, 4)
    b = bench(events)
    first = RecordingHandler()
    b.runtime(first, FakeDeadLetters()).run(idle_timeout=0.05)
    b.committed.clear()  # the commit never reached the broker
    second = RecordingHandler()
    stats = b.runtime(second, FakeDeadLetters()).run(idle_timeout=0.05)
    assert ([], 4, {TopicPartition(TOPIC, 0): 4}) == (second.handled, stats.duplicate, b.committed)


def test_poison_goes_to_the_dlq_with_its_reason_and_the_stream_goes_on(
    bench: Callable[..., Bench], codec: Codec, hit_template: ExchangeEvent
) -> None:
    """Undecodable bytes, missing headers, a wrong ce_type: dead-lettered; the rest handled."""
    good = hits(hit_template, 3)
    key, value, headers = wire(codec, hits(hit_template, 1)[0])
    wrong_type = [(k, b"PersonAlert" if k == "ce_type" else v) for k, v in headers]
    b = bench(
        [
            good[0],
            (b"k", b"\x00garbage", []),
            good[1],
            (key, value, []),
            (key, value, wrong_type),
            good[2],
        ]
    )
    handler, dlq = RecordingHandler(), FakeDeadLetters()
    b.runtime(handler, dlq).run(idle_timeout=0.05)
    assert (ids(good), [(1, "undecodable"), (3, "bad_headers"), (4, "bad_headers")], 6) == (
        handler.durable,
        [(o.offset, reason) for o, reason in dlq.sent],
        b.committed[TopicPartition(TOPIC, 0)],
    )


def test_handler_rejection_and_bug_are_dead_lettered(
    bench: Callable[..., Bench], hit_template: ExchangeEvent
) -> None:
    """ValidationFailed goes to the DLQ as 'invalid'; a non-HxError as 'unexpected_error'."""
    events = hits(hit_template, 3)
    refused = {
        events[0].envelope.message_id: ValidationFailed([Issue("details", "test")]),
        events[1].envelope.message_id: KeyError("a bug"),
    }
    b = bench(events)
    handler, dlq = RecordingHandler(refuse=lambda m: refused.get(m.message_id)), FakeDeadLetters()
    b.runtime(handler, dlq).run(idle_timeout=0.05)
    assert ([events[2].envelope.message_id], ["invalid", "unexpected_error"]) == (
        handler.durable,
        [reason for _o, reason in dlq.sent],
    )


def test_expired_alert_is_skipped_not_dead_lettered(
    bench: Callable[..., Bench], alert_template: ExchangeEvent
) -> None:
    """An alert past valid_until is committed as 'expired', never handled, never in the DLQ."""
    now = datetime.now(UTC).replace(microsecond=0)
    live = ExchangeEvent(
        alert_template.envelope.evolve(message_id=new_message_id()),
        {**alert_template.record, "valid_until": now + timedelta(days=1)},
    )
    dead = ExchangeEvent(
        alert_template.envelope.evolve(message_id=new_message_id()),
        {
            **alert_template.record,
            "issued_at": now - timedelta(days=3),
            "valid_until": now - timedelta(seconds=1),
        },
    )
    b = bench([dead, live])
    handler, dlq = RecordingHandler(), FakeDeadLetters()
    stats = b.runtime(handler, dlq).run(idle_timeout=0.05)
    assert ([live.envelope.message_id], 1, [], 2) == (
        handler.durable,
        stats.expired,
        dlq.sent,
        b.committed[TopicPartition(TOPIC, 0)],
    )


def test_an_expired_alerts_audit_waits_for_the_flush_like_a_delivery(
    bench: Callable[..., Bench], alert_template: ExchangeEvent
) -> None:
    """``on_expired`` writes an audit record into the handler's batch: a batch of expired
    alerts only is flushed too, and when that flush fails the expired offset is not
    committed; the alert comes again and is committed once its record is durable."""
    now = datetime.now(UTC).replace(microsecond=0)
    dead = ExchangeEvent(
        alert_template.envelope.evolve(message_id=new_message_id()),
        {
            **alert_template.record,
            "issued_at": now - timedelta(days=3),
            "valid_until": now - timedelta(seconds=1),
        },
    )
    b = bench([dead])
    handler = RecordingHandler(flush_failures=1)
    audited: list[str] = []

    def on_expired(message: Delivery) -> None:
        handler._batch.append(message.message_id)  # the audit record, in the batch
        audited.append(message.message_id)

    stats = b.runtime(handler, FakeDeadLetters(), on_expired=on_expired).run(idle_timeout=0.2)
    expected = [dead.envelope.message_id]
    assert (expected * 2, expected, [1], 1) == (
        audited,
        handler.durable,
        [c[TopicPartition(TOPIC, 0)] for c in b.consumers[0].commits],
        stats.retried,
    )


def test_failed_flush_rewinds_and_nothing_is_marked_until_it_succeeds(
    bench: Callable[..., Bench], hit_template: ExchangeEvent
) -> None:
    """When flush fails the batch is redelivered after a backoff and handled once durably."""
    events = hits(hit_template, 4)
    b = bench(events)
    handler = RecordingHandler(flush_failures=1)
    stats = b.runtime(handler, FakeDeadLetters()).run(idle_timeout=0.2)
    assert (ids(events), [(TopicPartition(TOPIC, 0), 0)], 1, 4) == (
        handler.durable,
        b.consumers[0].seeks,
        stats.retried,
        b.committed[TopicPartition(TOPIC, 0)],
    )


def test_unacknowledged_dlq_write_is_not_committed(
    bench: Callable[..., Bench], hit_template: ExchangeEvent
) -> None:
    """A DLQ write the broker did not ack stops the commit before it; the entry is written again."""
    good = hits(hit_template, 2)
    b = bench([good[0], (b"k", b"garbage", []), good[1]])
    dlq = FakeDeadLetters(refuse={Origin(TOPIC, 0, 1)})
    handler = RecordingHandler()
    b.runtime(handler, dlq).run(idle_timeout=0.2)
    commits = [c[TopicPartition(TOPIC, 0)] for c in b.consumers[0].commits]
    assert ([1, 3], [1, 1], ids(good)) == (
        commits,
        [o.offset for o, _r in dlq.sent],
        handler.durable,
    )


def test_retriable_failure_keeps_order_on_its_partition_and_others_go_on(
    bench: Callable[..., Bench], hit_template: ExchangeEvent
) -> None:
    """Partition 0 fails twice at its first message; partition 1 is done meanwhile; order kept."""
    slow, fast = hits(hit_template, 3), hits(hit_template, 3)
    failures = {"left": 2}

    def refuse(message: Delivery) -> BaseException | None:
        if message.partition == 0 and failures["left"]:
            failures["left"] -= 1
            return SinkUnavailable("test: sink down")
        return None

    b = bench(slow, fast)
    handler = RecordingHandler(refuse=refuse)
    stats = b.runtime(handler, FakeDeadLetters()).run(idle_timeout=0.3)
    assert (ids(fast) + ids(slow), 2, 6) == (handler.durable, stats.retried, stats.handled)


def test_dead_letter_after_gives_up_with_retries_exhausted(
    bench: Callable[..., Bench], hit_template: ExchangeEvent
) -> None:
    """With dead_letter_after=3 a message that always fails retriably ends in the DLQ."""
    events = hits(hit_template, 2)
    stuck = events[0].envelope.message_id
    b = bench(events)
    handler = RecordingHandler(
        refuse=lambda m: SinkUnavailable("down") if m.message_id == stuck else None
    )
    dlq = FakeDeadLetters()
    policy = RetryPolicy(base_delay=0.01, max_delay=0.02, dead_letter_after=3)
    stats = b.runtime(handler, dlq, retry=policy).run(idle_timeout=0.3)
    assert ([events[1].envelope.message_id], ["retries_exhausted"], 2) == (
        handler.durable,
        [reason for _o, reason in dlq.sent],
        stats.retried,
    )


def test_verifier_rejection_is_dead_lettered_and_outage_retried(
    bench: Callable[..., Bench], hit_template: ExchangeEvent
) -> None:
    """SecurityError from the verifier dead-letters; a retriable verifier error retries."""
    events = hits(hit_template, 2)
    forged = events[0].envelope.message_id
    outages = {"left": 1}

    class Verifier:
        def verify(self, message: Any) -> None:
            if message.envelope.message_id == forged:
                raise SecurityError("signature does not verify")
            if outages["left"]:
                outages["left"] -= 1
                raise BrokerUnavailable("test: key service down")

    b = bench(events)
    handler, dlq = RecordingHandler(), FakeDeadLetters()
    stats = b.runtime(handler, dlq, verifier=Verifier()).run(idle_timeout=0.3)
    assert ([events[1].envelope.message_id], ["signature"], 1) == (
        handler.durable,
        [reason for _o, reason in dlq.sent],
        stats.retried,
    )


def test_duplicate_within_one_batch_is_handled_once(
    bench: Callable[..., Bench], hit_template: ExchangeEvent
) -> None:
    """The same message id twice in one batch (a producer retry) reaches the handler once."""
    event = hits(hit_template, 1)[0]
    b = bench([event, event])
    handler = RecordingHandler()
    stats = b.runtime(handler, FakeDeadLetters()).run(idle_timeout=0.05)
    assert ([event.envelope.message_id], 1, 1) == (handler.durable, stats.handled, stats.duplicate)


def test_outcomes_are_counted_in_prometheus(
    bench: Callable[..., Bench], hit_template: ExchangeEvent
) -> None:
    """hx_consumer_messages_total counts handled and dead-lettered messages by role and type."""

    def sample(event_type: str, outcome: str) -> float:
        labels = {
            "role": "unit-test",
            "topic_kind": "other",
            "event_type": event_type,
            "outcome": outcome,
        }
        return REGISTRY.get_sample_value("hx_consumer_messages_total", labels) or 0.0

    before = (sample("AlertHit", "handled"), sample("unknown", "dead_lettered"))
    b = bench([*hits(hit_template, 2), (b"k", b"junk", [])])
    b.runtime(RecordingHandler(), FakeDeadLetters(), role="unit-test").run(idle_timeout=0.05)
    after = (sample("AlertHit", "handled"), sample("unknown", "dead_lettered"))
    assert (2.0, 1.0) == (after[0] - before[0], after[1] - before[1])


# -- authority (design.md): judged after dedupe, before the handler -------------------------


def shared_alert_facts(hit_template: ExchangeEvent) -> MemoryFacts:
    """Facts in which the hit template's alert is the target's, shared with every partner."""
    facts = MemoryFacts()
    alert = AlertFacts(hit_template.envelope.target or "", "VEHICLE", 1, "SHARE_ALL_PARTNERS")
    facts.note(Lesson(alert=(hit_template.record["alert_id"], alert)))
    facts.commit()
    return facts


def test_authority_refusal_is_dead_lettered_counted_and_teaches_nothing(
    bench: Callable[..., Bench], hit_template: ExchangeEvent
) -> None:
    """A hit signed by another agency than its reporter: DLQ not_authorized, counted by
    rule, never handled, its hit unknown afterwards; the good hit is handled and known."""
    good, forged = hits(hit_template, 2)
    forged = ExchangeEvent(forged.envelope.evolve(source="320300000000"), forged.record)
    forged.record["hit_id"] = str(uuid.uuid4())
    labels = {"role": "unit-authority", "event_type": "AlertHit", "rule": "hit_not_by_reporter"}
    before = REGISTRY.get_sample_value("hx_authority_rejections_total", labels) or 0.0
    facts = shared_alert_facts(hit_template)
    b = bench([forged, good])
    handler, dlq = RecordingHandler(), FakeDeadLetters()
    gate = AuthorityGate(facts)
    b.runtime(handler, dlq, role="unit-authority", authority=gate).run(idle_timeout=0.05)
    after = REGISTRY.get_sample_value("hx_authority_rejections_total", labels) or 0.0
    assert ([good.envelope.message_id], ["not_authorized"], 1.0, True, None) == (
        handler.durable,
        [reason for _o, reason in dlq.sent],
        after - before,
        facts.hit(good.record["hit_id"]) is not None,
        facts.hit(forged.record["hit_id"]),
    )


def test_unknown_alert_is_retried_then_dead_lettered_not_authorized(
    bench: Callable[..., Bench], hit_template: ExchangeEvent
) -> None:
    """A hit on an alert the receiver never learns: retried unknown_after - 1 times, then
    dead-lettered not_authorized; the partition goes on."""
    stray, good = hits(hit_template, 2)
    stray.record["alert_id"] = str(uuid.uuid4())
    b = bench([stray, good])
    handler, dlq = RecordingHandler(), FakeDeadLetters()
    policy = RetryPolicy(base_delay=0.01, max_delay=0.02, unknown_after=3)
    gate = AuthorityGate(shared_alert_facts(hit_template))
    stats = b.runtime(handler, dlq, retry=policy, authority=gate).run(idle_timeout=0.3)
    assert ([good.envelope.message_id], ["not_authorized"], 2) == (
        handler.durable,
        [reason for _o, reason in dlq.sent],
        stats.retried,
    )


def confirmation_of(hit: ExchangeEvent) -> ExchangeEvent:
    """The confirmation of ``hit`` by its alert's issuer, to its reporter (fixture text)."""
    agreement = load_agreement(DEFAULT_AGREEMENT_PATH)
    text = (FIXTURES / "hit_confirmation_jining.json").read_text(encoding="utf-8")
    template = parse_event(json.loads(text), agreement)
    record = {
        **template.record,
        "hit_id": hit.record["hit_id"],
        "alert_id": hit.record["alert_id"],
        "agency": hit.envelope.target,
    }
    envelope = template.envelope.evolve(
        message_id=new_message_id(), source=hit.envelope.target, target=hit.envelope.source
    )
    return ExchangeEvent(envelope, record)


def test_confirmation_ahead_of_the_hits_sender_copy_is_handled(
    bench: Callable[..., Bench], hit_template: ExchangeEvent
) -> None:
    """A confirmation read before the sender's copy of its hit, behind it in the same
    partition: the copy is learnt ahead, the confirmation handled, nothing dead-lettered."""
    (hit,) = hits(hit_template, 1)
    hit.record["hit_id"] = str(uuid.uuid4())
    copy = ExchangeEvent(hit.envelope.evolve(target=hit.envelope.source), hit.record)
    confirmation = confirmation_of(hit)
    b = bench([confirmation, copy])
    handler, dlq = RecordingHandler(), FakeDeadLetters()
    policy = RetryPolicy(base_delay=0.01, max_delay=0.02, unknown_after=2)
    gate = AuthorityGate(shared_alert_facts(hit_template))
    b.runtime(handler, dlq, retry=policy, authority=gate).run(idle_timeout=0.3)
    assert (ids([confirmation, copy]), []) == (handler.durable, dlq.sent)


def test_confirmation_of_a_hit_sent_nowhere_is_still_refused(
    bench: Callable[..., Bench], hit_template: ExchangeEvent
) -> None:
    """Reading ahead teaches only what later messages say: a confirmation of a hit nobody
    reported, followed by other hits, is retried and dead-lettered not_authorized."""
    (hit,) = hits(hit_template, 1)
    hit.record["hit_id"] = str(uuid.uuid4())
    others = hits(hit_template, 2)
    for other in others:
        other.record["hit_id"] = str(uuid.uuid4())
    confirmation = confirmation_of(hit)
    b = bench([confirmation, *others])
    handler, dlq = RecordingHandler(), FakeDeadLetters()
    policy = RetryPolicy(base_delay=0.01, max_delay=0.02, unknown_after=2)
    gate = AuthorityGate(shared_alert_facts(hit_template))
    b.runtime(handler, dlq, retry=policy, authority=gate).run(idle_timeout=0.3)
    assert (ids(others), ["not_authorized"]) == (
        handler.durable,
        [reason for _o, reason in dlq.sent],
    )


def test_failed_flush_drops_the_facts_of_the_batch(
    bench: Callable[..., Bench], hit_template: ExchangeEvent
) -> None:
    """Facts are kept with the batch: while its flush fails they are rolled back, and they
    are committed once it succeeds."""
    (event,) = hits(hit_template, 1)
    facts = shared_alert_facts(hit_template)
    b = bench([event])
    handler = RecordingHandler(flush_failures=1)
    committed: list[bool] = []

    class Watching(AuthorityGate):
        def rollback(self) -> None:
            committed.append(False)
            super().rollback()

        def commit(self) -> None:
            committed.append(self.store.hit(event.record["hit_id"]) is not None)
            super().commit()

    b.runtime(handler, FakeDeadLetters(), authority=Watching(facts)).run(idle_timeout=0.3)
    assert ([False, True], True) == (committed, facts.hit(event.record["hit_id"]) is not None)


def behind(b: Bench) -> FakeConsumer:
    """A consumer whose every partition always has more to read (a backlog, a busy stream)."""
    return FakeConsumer(b.log, b.committed, {tp: len(r) + 1 for tp, r in b.log.items()})


def read_to_end(b: Bench) -> FakeConsumer:
    """A consumer whose high watermarks are the ends of its partitions, as once read."""
    return FakeConsumer(b.log, b.committed, {tp: len(r) for tp, r in b.log.items()})


def test_unknown_alert_waits_longer_while_other_partitions_are_unread(
    bench: Callable[..., Bench], hit_template: ExchangeEvent
) -> None:
    """While another partition is not read to its end (the alert may be there), a hit on an
    unknown alert is retried up to unknown_ceiling - 1 times, not unknown_after - 1, then
    dead-lettered not_authorized."""
    stray, good = hits(hit_template, 2)
    stray.record["alert_id"] = str(uuid.uuid4())
    b = bench([stray], [good])
    policy = RetryPolicy(base_delay=0.01, max_delay=0.02, unknown_after=3, unknown_ceiling=6)
    gate = AuthorityGate(shared_alert_facts(hit_template))
    handler, dlq = RecordingHandler(), FakeDeadLetters()
    runtime = b.runtime(
        handler,
        dlq,
        retry=policy,
        authority=gate,
        consumer_factory=lambda _settings, _options: behind(b),
    )
    stats = runtime.run(idle_timeout=0.5)
    assert ([good.envelope.message_id], ["not_authorized"], 5) == (
        handler.durable,
        [reason for _o, reason in dlq.sent],
        stats.retried,
    )


def test_partitions_waiting_on_their_own_retry_do_not_hold_each_other_back(
    bench: Callable[..., Bench], hit_template: ExchangeEvent
) -> None:
    """Two partitions each stopped at a hit on an unknown alert, and nothing else to read:
    each is refused after unknown_after - 1 retries, not held to unknown_ceiling by the
    other."""
    first, second = hits(hit_template, 2)
    for stray in (first, second):
        stray.record["alert_id"] = str(uuid.uuid4())
    b = bench([first], [second])
    policy = RetryPolicy(base_delay=0.01, max_delay=0.02, unknown_after=3, unknown_ceiling=6)
    gate = AuthorityGate(shared_alert_facts(hit_template))
    handler, dlq = RecordingHandler(), FakeDeadLetters()
    runtime = b.runtime(
        handler,
        dlq,
        retry=policy,
        authority=gate,
        consumer_factory=lambda _settings, _options: read_to_end(b),
    )
    stats = runtime.run(idle_timeout=0.5)
    assert (["not_authorized", "not_authorized"], 4) == (
        [reason for _o, reason in dlq.sent],
        stats.retried,
    )
