"""Signatures through the reader and the loop: each odd message refused, in its place."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from client_fakes import FakeConsumer, record
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client import REGISTRY

from consumers import (
    Checks,
    ConsumerRuntime,
    DedupeStore,
    Delivery,
    MessageReader,
    Origin,
    Polling,
    RetryPolicy,
    Settlement,
    Subscription,
)
from consumers.reading import Poison
from producers import MessageBuilder, SyntheticTraffic
from runtime import AgreementVerifier, Settings, agreement_verifier
from runtime.kafka import ConsumerOptions, Record, TopicPartition
from runtime.signing import signed_bytes
from runtime.signing_keys import key_id, public_key_text
from schemas import DEFAULT_AGREEMENT_PATH, Agreement, Codec, load_agreement

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
XUZHOU, JINING = "320300000000", "370800000000"
TOPIC = "t-verify-loop"
CODEC = Codec()

#: Positions of the odd records in a batch of ``SIZE`` (the rest are signed as they should be).
SIZE = 48
TAMPERED, OTHER_AGENCYS_KEY, UNKNOWN_SIGNER, OLD_KEY, RETIRED_KEY, UNSIGNED, GARBAGE = (
    5,
    11,
    17,
    23,
    29,
    33,
    40,
)


@dataclass(frozen=True)
class Keys:
    xuzhou_old: Ed25519PrivateKey
    xuzhou: Ed25519PrivateKey
    jining: Ed25519PrivateKey
    retired: Ed25519PrivateKey
    stranger: Ed25519PrivateKey


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(*(Ed25519PrivateKey.generate() for _ in range(5)))


@pytest.fixture(scope="module")
def agreement(keys: Keys) -> Agreement:
    """Xuzhou in a changeover (old and new key listed), Jining with one key."""
    raw = load_agreement(DEFAULT_AGREEMENT_PATH).model_dump()
    listed = {XUZHOU: [keys.xuzhou_old, keys.xuzhou], JINING: [keys.jining]}
    for agency in raw["agencies"]:
        agency["public_keys"] = [
            public_key_text(k.public_key()) for k in listed.get(agency["id"], [])
        ]
    return Agreement.model_validate(raw)


def _signed_by(
    key: Ed25519PrivateKey, topic: str, message_key: bytes, value: bytes, headers: Any
) -> list[tuple[str, bytes]]:
    """Headers signed with ``key`` whoever ``ce_source`` names (what a forger would send)."""
    kid = key_id(key.public_key())
    signature = key.sign(signed_bytes(topic, message_key, value, headers, kid))
    return [*headers, ("hx_signature", base64.b64encode(signature)), ("hx_key_id", kid.encode())]


def batch(agreement: Agreement, keys: Keys, partition: int = 0) -> list[Record]:
    """``SIZE`` records of Xuzhou's and Jining's traffic on ``TOPIC``, each signed by its
    source's key, the odd ones at their positions."""
    own = {XUZHOU: keys.xuzhou, JINING: keys.jining}
    builder = MessageBuilder(agreement)
    traffic = SyntheticTraffic(agreement, seed=partition + 7, start=START).take(4000)
    events = [e for e in traffic if e.envelope.source in own][:SIZE]
    xuzhou = next(i for i, e in enumerate(events) if i >= OLD_KEY and e.envelope.source == XUZHOU)
    events[OLD_KEY], events[xuzhou] = events[xuzhou], events[OLD_KEY]  # Xuzhou's old key
    records = []
    for offset, event in enumerate(events):
        source = event.envelope.source
        message = builder.build(event)[1][0]
        key, value, plain = message.key, message.value, list(message.headers)
        signer = {
            OTHER_AGENCYS_KEY: keys.jining if source == XUZHOU else keys.xuzhou,
            UNKNOWN_SIGNER: keys.stranger,
            OLD_KEY: keys.xuzhou_old,
            RETIRED_KEY: keys.retired,
        }.get(offset, own[source])
        headers = plain if offset == UNSIGNED else _signed_by(signer, TOPIC, key, value, plain)
        if offset == TAMPERED:
            key = key + b"x"
        elif offset == GARBAGE:
            value = b"not an hxbus event"
        records.append(record(TOPIC, partition, offset, key, value, headers))
    return records


def failures(role: str) -> dict[str, float]:
    reasons = ("unsigned", "malformed", "unknown_key", "wrong_source", "bad_signature")
    return {
        reason: REGISTRY.get_sample_value(
            "hx_signature_failures_total", {"role": role, "reason": reason}
        )
        or 0.0
        for reason in reasons
    }


def verifier(agreement: Agreement, role: str) -> AgreementVerifier:
    made = agreement_verifier(agreement, role=role)
    assert isinstance(made, AgreementVerifier)
    return made


def test_each_odd_message_is_refused_for_its_own_reason(agreement: Agreement, keys: Keys) -> None:
    """Tampered, another agency's key, unknown signer, retired key, unsigned: refused each
    in its place; the changeover's old key verifies; garbage is poison before any check."""
    records = batch(agreement, keys)
    reader = MessageReader(CODEC, verifier(agreement, "test-verify-read"))
    results = [reader.read(r) for r in records]
    odd = {
        TAMPERED: "does not match topic, key, value and headers",
        OTHER_AGENCYS_KEY: "signed with a key of",
        UNKNOWN_SIGNER: "is no key of the agreement",
        RETIRED_KEY: "is no key of the agreement",
        UNSIGNED: "hx_signature: absent",
    }
    expected = [
        ("signature", odd[n]) if n in odd else ("undecodable", "") if n == GARBAGE else "ok"
        for n in range(SIZE)
    ]
    actual = [
        "ok"
        if isinstance(r, Delivery)
        else (r.reason, next((t for t in odd.values() if t in str(r.error)), ""))
        if isinstance(r, Poison)
        else "retriable"
        for r in results
    ]
    counted = {"unsigned": 1, "malformed": 0, "unknown_key": 2, "wrong_source": 1}
    assert (expected, {**counted, "bad_signature": 1}) == (actual, failures("test-verify-read"))
    assert isinstance(results[OLD_KEY], Delivery)


@dataclass
class Journal:
    """One list of what the handler and the DLQ saw, in the order they saw it."""

    entries: list[tuple[str, int]] = field(default_factory=list)

    def handle(self, message: Delivery) -> None:
        self.entries.append(("handled", message.offset))

    def flush(self) -> None:
        pass

    def send(
        self, origin: Origin, *, key: Any, value: Any, headers: Any, error: Any, reason: str
    ) -> None:
        self.entries.append((reason, origin.offset))


class JournalDeadLetters:
    def __init__(self, journal: Journal) -> None:
        self.send = journal.send

    def flush(self) -> set[Origin]:
        return set()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DedupeStore]:
    made = DedupeStore(tmp_path / "dedupe.sqlite")
    yield made
    made.close()


def test_loop_dead_letters_a_forged_message_in_its_place(
    agreement: Agreement, keys: Keys, store: DedupeStore, tmp_path: Path
) -> None:
    """Two partitions in one batch: each refused message goes to the DLQ between its
    neighbours, in offset order; all the rest is handled; everything committed."""
    # Two partitions of unequal length, read in one poll.
    sizes = {0: SIZE, 1: SIZE - 10}
    log = {TopicPartition(TOPIC, n): batch(agreement, keys, n)[:size] for n, size in sizes.items()}
    committed: dict[TopicPartition, int] = {}

    def factory(_settings: Settings, _options: ConsumerOptions) -> FakeConsumer:
        return FakeConsumer(log, committed)

    journal = Journal()
    runtime = ConsumerRuntime(
        Settings(state_dir=tmp_path),
        Subscription("g-verify-loop", [TOPIC], role="test-verify-loop"),
        journal,
        Checks(CODEC, store, verifier=verifier(agreement, "test-verify-loop")),
        Settlement(JournalDeadLetters(journal)),
        Polling(
            retry=RetryPolicy(base_delay=0.01, max_delay=0.02),
            consumer_factory=factory,
            poll_timeout_s=0.01,
        ),
    )
    runtime.run(idle_timeout=0.05)
    refused = {TAMPERED, OTHER_AGENCYS_KEY, UNKNOWN_SIGNER, RETIRED_KEY, UNSIGNED}
    expected = [
        ("signature" if n in refused else "undecodable" if n == GARBAGE else "handled", n)
        for size in sizes.values()
        for n in range(size)
    ]
    assert (expected, {TopicPartition(TOPIC, n): size for n, size in sizes.items()}) == (
        journal.entries,
        committed,
    )
