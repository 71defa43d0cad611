"""Signed messages through the consumer runtime on the real broker: forgeries go to the DLQ."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from consumer_support import (
    FileSink,
    Raw,
    encode,
    fresh_topic,
    make_events,
    message_files,
    produce,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consumers import (
    Checks,
    ConsumerRuntime,
    DeadLetterQueue,
    DedupeStore,
    Delivery,
    MessageReader,
    Settlement,
    Subscription,
    read_dead_letters,
)
from hxbus.cli import main
from producers import SyntheticTraffic
from runtime import Ed25519Signer, Settings, agreement_verifier, open_consumer, run_provisioning
from runtime.kafka import Admin, TopicPartition
from runtime.signing import signed_bytes
from runtime.signing_keys import key_id, public_key_text
from schemas import (
    DEFAULT_AGREEMENT_PATH,
    Agreement,
    Codec,
    ExchangeEvent,
    load_agreement,
    render_event,
)

pytestmark = pytest.mark.broker

XUZHOU = "320300000000"


@pytest.fixture
def topic(settings: Settings, admin: Admin, unique_name: Callable[..., str]) -> Iterator[str]:
    with fresh_topic(settings, admin, unique_name(), 2) as name:
        yield name


@pytest.fixture
def keys(agreement: Agreement) -> dict[str, Ed25519PrivateKey]:
    return {a.id: Ed25519PrivateKey.generate() for a in agreement.agencies}


@pytest.fixture
def signed_agreement(agreement: Agreement, keys: dict[str, Ed25519PrivateKey]) -> Agreement:
    raw = agreement.model_dump()
    for agency in raw["agencies"]:
        agency["public_keys"] = [public_key_text(keys[agency["id"]].public_key())]
    return Agreement.model_validate(raw)


def signed(
    codec: Codec, topic: str, event: ExchangeEvent, keys: dict[str, Ed25519PrivateKey]
) -> Raw:
    """The event as its source's Publisher would sign it for ``topic``."""
    key, value, headers = encode(codec, event)
    assert key is not None
    assert value is not None
    source = event.envelope.source
    return (
        key,
        value,
        headers + Ed25519Signer(source, keys[source]).sign(topic, key, value, headers),
    )


def tampered(message: Raw) -> Raw:
    """One byte of the value flipped after signing."""
    key, value, headers = message
    assert value is not None
    changed = bytearray(value)
    changed[-1] ^= 0x01
    return key, bytes(changed), headers


def claiming(
    codec: Codec,
    topic: str,
    event: ExchangeEvent,
    claimed: str,
    signer_key: Ed25519PrivateKey,
) -> Raw:
    """Signed with A's key (and A's key id) but with ce_source = ``claimed`` (B)."""
    key, value, headers = encode(codec, event)
    assert key is not None
    assert value is not None
    headers = [(k, claimed.encode() if k == "ce_source" else v) for k, v in headers]
    kid = key_id(signer_key.public_key())
    signature = signer_key.sign(signed_bytes(topic, key, value, headers, kid))
    return (
        key,
        value,
        [*headers, ("hx_signature", base64.b64encode(signature)), ("hx_key_id", kid.encode())],
    )


def test_forged_and_tampered_messages_are_dead_lettered_with_reason_signature(
    settings: Settings,
    topic: str,
    agreement: Agreement,
    signed_agreement: Agreement,
    keys: dict[str, Ed25519PrivateKey],
    tmp_path: Path,
) -> None:
    """Signed messages reach the sink; a tampered byte, a message claiming source B signed
    by A, and an unsigned one end in the DLQ with reason ``signature`` and never in the sink."""
    codec, group = Codec(), f"g-{topic[2:]}"
    good_events = make_events(agreement, 4, seed=21)
    bad_events = make_events(agreement, 3, seed=22)
    a_source = bad_events[1].envelope.source
    b_claimed = next(a.id for a in agreement.agencies if a.id != a_source)
    good = [signed(codec, topic, e, keys) for e in good_events]
    bad = [
        tampered(signed(codec, topic, bad_events[0], keys)),
        claiming(codec, topic, bad_events[1], b_claimed, keys[a_source]),
        encode(codec, bad_events[2]),  # unsigned
    ]
    produce(
        settings, topic, [good[0], bad[0], good[1], bad[1], good[2], bad[2], good[3]], partition=0
    )

    verifier = agreement_verifier(signed_agreement, role="test")
    assert verifier is not None
    sink = FileSink(tmp_path / "sink")
    store = DedupeStore.for_group(settings.state_dir, group)
    dlq = DeadLetterQueue(settings, group, replication=1, min_insync_replicas=1)
    runtime = ConsumerRuntime(
        settings,
        Subscription(group, [topic], role="test"),
        sink,
        Checks(codec, store, verifier=verifier),
        Settlement(dlq),
    )
    try:
        stats = runtime.run(max_messages=7, idle_timeout=30)
    finally:
        store.close()
        dlq.close()
        sink.close()

    entries = list(read_dead_letters(settings, group))
    dead = {(e.header("ce_id"), e.header("hx_dlq_reason")) for e in entries}
    assert {e.envelope.message_id for e in good_events} == message_files(sink.root)
    assert {(e.envelope.message_id, "signature") for e in bad_events} == dead
    assert (4, 3) == (stats.handled, stats.dead_lettered)
    by_id = {e.header("ce_id"): e.header("hx_dlq_message") or "" for e in entries}
    assert "does not match" in by_id[bad_events[0].envelope.message_id]
    assert f"but ce_source claims {b_claimed}" in by_id[bad_events[1].envelope.message_id]
    assert "hx_signature: absent" in by_id[bad_events[2].envelope.message_id]


def test_keys_generate_then_publish_signs_what_receivers_verify(
    settings: Settings,
    agreement: Agreement,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``hxbus keys generate`` then ``hxbus publish``: the stored message carries
    hx_signature/hx_key_id and verifies against the edited agreement's keys."""
    run_provisioning(settings, agreement)
    agreement_file = tmp_path / "agencies.toml"
    agreement_file.write_text(DEFAULT_AGREEMENT_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    start = datetime.now(UTC).replace(microsecond=0)
    alert = next(
        e
        for e in SyntheticTraffic(agreement, seed=31, start=start).take(500)
        if e.event_type == "PersonAlert" and e.envelope.source == XUZHOU
    )
    events = tmp_path / "alert.json"
    events.write_text(json.dumps(render_event(alert), ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("HX_BOOTSTRAP", settings.bootstrap)
    monkeypatch.setenv("HX_STATE_DIR", str(settings.state_dir))
    monkeypatch.setenv("HX_AGREEMENT", str(agreement_file))
    monkeypatch.setattr("hxbus.cli.configure_logging", lambda *_args, **_kwargs: None)
    capsys.readouterr()

    assert 0 == main(["keys", "generate", "--agency", XUZHOU])
    assert 0 == main(["publish", "--as", XUZHOU, str(events)])
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("ok ")]
    topic, _, place = line.split()[2].partition("/")
    partition, _, offset = place.partition("@")

    consumer = open_consumer(settings)
    try:
        tp = TopicPartition(topic, int(partition))
        consumer.assign([tp])
        consumer.seek(tp, int(offset))
        records = consumer.poll(10.0, 1)[tp]
    finally:
        consumer.close()
    delivery = MessageReader(Codec()).read(records[0])
    assert isinstance(delivery, Delivery)
    verifier = agreement_verifier(load_agreement(agreement_file))
    assert verifier is not None
    verifier.verify(delivery)
    assert {"hx_signature", "hx_key_id"} <= set(delivery.headers)
