"""The librdkafka transport (confluent-kafka) against real brokers, through our protocols.

The shared test broker for the plain behaviours (keys to murmur2 partitions, group reads
with manual commits, rebalances, pause/seek, transactions); a TLS + SCRAM cluster of this
module's own for logins (SCRAM over SASL_SSL, refused password, untrusted certificate)
and for the admin calls provisioning makes (SCRAM users, ACLs).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from own_broker_support import free_port_pair
from pydantic import SecretStr

from hxbus import broker
from hxbus.broker.tls import make_ca
from runtime.kafka import (
    SCRAM_MECHANISM,
    AclBinding,
    AdminOptions,
    ConsumerOptions,
    NewTopic,
    ProducerOptions,
    Record,
    TopicPartition,
    open_admin,
    open_consumer,
    open_producer,
    partition_for_key,
)
from runtime.kafka.librdkafka import LibrdkafkaAdmin, LibrdkafkaConsumer, LibrdkafkaProducer
from runtime.settings import Settings
from schemas.errors import NotAuthorized

pytestmark = pytest.mark.broker


@pytest.fixture
def rd(settings: Settings) -> Settings:
    """The test broker's settings on the librdkafka transport."""
    return settings.model_copy(update={"kafka_client": "librdkafka"})


def _topic(rd: Settings, name: str, partitions: int = 1) -> str:
    admin = open_admin(rd)
    try:
        admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        admin.close()
    return name


def _read(
    consumer: LibrdkafkaConsumer | object, count: int, timeout_s: float = 30.0
) -> list[Record]:
    assert isinstance(consumer, LibrdkafkaConsumer)
    records: list[Record] = []
    deadline = time.monotonic() + timeout_s
    while len(records) < count and time.monotonic() < deadline:
        for batch in consumer.poll(0.5).values():
            records.extend(batch)
    return records


def test_factory_opens_librdkafka_clients(rd: Settings) -> None:
    """HX_KAFKA_CLIENT=librdkafka gives the confluent-kafka implementations."""
    producer = open_producer(rd)
    admin = open_admin(rd)
    consumer = open_consumer(rd)
    try:
        assert (LibrdkafkaProducer, LibrdkafkaAdmin, LibrdkafkaConsumer) == (
            type(producer),
            type(admin),
            type(consumer),
        )
    finally:
        producer.close()
        admin.close()
        consumer.close()


def test_keys_land_where_murmur2_puts_them(rd: Settings, unique_name: Callable[..., str]) -> None:
    """Every keyed record goes to partition_for_key's partition (Java's murmur2), not CRC32."""
    topic = _topic(rd, unique_name(), partitions=6)
    producer = open_producer(rd)
    try:
        keys = [f"HX-ALERT-{i:05d}".encode() for i in range(200)]
        futures = [producer.send(topic, b"v", key=key) for key in keys]
        producer.flush(30)
        actual = {key: f.get(10).partition for key, f in zip(keys, futures, strict=True)}
    finally:
        producer.close()
    expected = {key: partition_for_key(key, range(6)) for key in keys}
    assert expected == actual


def test_group_reads_commits_and_resumes_after_restart(
    rd: Settings, unique_name: Callable[..., str]
) -> None:
    """Records come back with key, headers and offsets; a committed group resumes after them."""
    topic = _topic(rd, unique_name())
    group = unique_name("g")
    producer = open_producer(rd)
    try:
        for i in range(10):
            producer.send(topic, f"v{i}".encode(), key=b"k", headers=[("ce_id", f"{i}".encode())])
        producer.flush(30)
    finally:
        producer.close()
    first = open_consumer(rd, ConsumerOptions(group_id=group))
    try:
        first.subscribe([topic])
        records = _read(first, 6)[:6]
        first.commit({TopicPartition(topic, 0): records[-1].offset + 1})
    finally:
        first.close()
    second = open_consumer(rd, ConsumerOptions(group_id=group))
    try:
        second.subscribe([topic])
        rest = _read(second, 4)
        position = second.position(TopicPartition(topic, 0))
        highwater = second.highwater(TopicPartition(topic, 0))
    finally:
        second.close()
    assert [f"v{i}".encode() for i in range(6)] == [r.value for r in records]
    assert (("ce_id", b"0"),) == records[0].headers
    assert [6, 7, 8, 9] == [r.offset for r in rest]
    assert (10, 10) == (position, highwater)
    admin = open_admin(rd)
    try:
        committed = admin.committed_offsets(group, [TopicPartition(topic, 0)])
    finally:
        admin.close()
    assert {TopicPartition(topic, 0): 6} == committed


def test_pause_seek_resume_reads_again(rd: Settings, unique_name: Callable[..., str]) -> None:
    """A partition sought back and paused yields nothing; resumed, it is read again from there."""
    topic = _topic(rd, unique_name())
    tp = TopicPartition(topic, 0)
    producer = open_producer(rd)
    try:
        for i in range(5):
            producer.send(topic, f"v{i}".encode())
        producer.flush(30)
    finally:
        producer.close()
    consumer = open_consumer(rd, ConsumerOptions(group_id=unique_name("g")))
    try:
        consumer.subscribe([topic])
        assert 5 == len(_read(consumer, 5))
        consumer.seek(tp, 2)
        consumer.pause([tp])
        paused = consumer.poll(1.0)
        consumer.resume([tp])
        again = _read(consumer, 3)
    finally:
        consumer.close()
    assert {} == paused
    assert [2, 3, 4] == [r.offset for r in again]


class _Listener:
    def __init__(self, commit: Mapping[TopicPartition, int]) -> None:
        self.assigned: list[frozenset[TopicPartition]] = []
        self.revoked: list[frozenset[TopicPartition]] = []
        self._commit = commit

    def on_assigned(self, partitions: frozenset[TopicPartition]) -> None:
        self.assigned.append(partitions)

    def on_revoked(self, partitions: frozenset[TopicPartition]) -> Mapping[TopicPartition, int]:
        self.revoked.append(partitions)
        return {tp: o for tp, o in self._commit.items() if tp in partitions}

    def on_lost(self, partitions: frozenset[TopicPartition]) -> None:
        self.revoked.append(partitions)


def test_rebalance_splits_partitions_and_commits_on_revoke(
    rd: Settings, unique_name: Callable[..., str]
) -> None:
    """A second member takes half the partitions; the first commits what on_revoked returned."""
    topic = _topic(rd, unique_name(), partitions=4)
    group = unique_name("g")
    all_tps = frozenset(TopicPartition(topic, p) for p in range(4))
    first_listener = _Listener(dict.fromkeys(all_tps, 0))
    first = open_consumer(rd, ConsumerOptions(group_id=group))
    second = open_consumer(rd, ConsumerOptions(group_id=group))
    try:
        first.subscribe([topic], first_listener)
        deadline = time.monotonic() + 30
        while first.assignment() != all_tps and time.monotonic() < deadline:
            first.poll(0.2)
        second.subscribe([topic], _Listener({}))
        while time.monotonic() < deadline and (
            len(first.assignment()) != 2 or len(second.assignment()) != 2
        ):
            first.poll(0.1)
            second.poll(0.1)
        split = (first.assignment(), second.assignment())
    finally:
        first.close()
        second.close()
    admin = open_admin(rd)
    try:
        committed = admin.committed_offsets(group, sorted(all_tps))
    finally:
        admin.close()
    assert all_tps == split[0] | split[1]
    assert (2, 2) == (len(split[0]), len(split[1]))
    assert all_tps == first_listener.assigned[0]
    assert all_tps == first_listener.revoked[0]  # eager range assignor: all revoked first
    assert dict.fromkeys(sorted(all_tps), 0) == dict(sorted(committed.items()))


def test_transaction_commits_records_and_offsets_or_aborts(
    rd: Settings, unique_name: Callable[..., str]
) -> None:
    """Committed: records visible to read_committed and the offset moved; aborted: neither."""
    source, target = _topic(rd, unique_name("src")), _topic(rd, unique_name("dst"))
    group = unique_name("g")
    seed = open_producer(rd)
    try:
        seed.send(source, b"in")
        seed.flush(30)
    finally:
        seed.close()
    consumer = open_consumer(rd, ConsumerOptions(group_id=group))
    txn = open_producer(rd, ProducerOptions(transactional_id=unique_name("tx")))
    try:
        consumer.subscribe([source])
        assert 1 == len(_read(consumer, 1))
        txn.init_transactions()
        txn.begin_transaction()
        txn.send(target, b"aborted")
        txn.abort_transaction()
        txn.begin_transaction()
        txn.send(target, b"committed")
        txn.send_offsets_to_transaction({TopicPartition(source, 0): 1}, consumer.group_metadata())
        txn.commit_transaction()
    finally:
        txn.close()
        consumer.close()
    reader = open_consumer(rd)
    try:
        reader.assign([TopicPartition(target, 0)])
        reader.seek_to_beginning([TopicPartition(target, 0)])
        values = [r.value for r in _read(reader, 1, timeout_s=10)]
    finally:
        reader.close()
    admin = open_admin(rd)
    try:
        committed = admin.committed_offsets(group, [TopicPartition(source, 0)])
    finally:
        admin.close()
    assert [b"committed"] == values
    assert {TopicPartition(source, 0): 1} == committed


# -- logins: a TLS + SCRAM cluster of this module's own ----------------------------------------


@pytest.fixture(scope="module")
def tls_admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The super-user of a secured cluster whose SASL listener runs inside TLS, on librdkafka."""
    root = tmp_path_factory.mktemp("rdtls") / "broker"
    cluster = broker.start_cluster(
        root, nodes=1, port=free_port_pair(), secure=True, tls=True, timeout=180
    )
    try:
        yield broker.admin_settings(cluster).model_copy(update={"kafka_client": "librdkafka"})
    finally:
        broker.stop_cluster(root)


def test_scram_user_with_acls_produces_over_tls(tls_admin: Settings) -> None:
    """Admin writes a SCRAM user and its ACLs; that user logs in over SASL_SSL and writes."""
    topic, user = f"rd-{uuid.uuid4().hex[:8]}", f"rd-user-{uuid.uuid4().hex[:6]}"
    grants = [
        AclBinding(f"User:{user}", "*", op, "ALLOW", "TOPIC", topic, "LITERAL")
        for op in ("DESCRIBE", "WRITE")
    ]
    admin = open_admin(tls_admin)
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
        admin.alter_scram_users(SCRAM_MECHANISM, {user: "a-long-test-password"}, [])
        admin.create_acls(grants)
        users = admin.scram_users(SCRAM_MECHANISM)
        acls = set(admin.describe_acls() or ())
    finally:
        admin.close()
    login = tls_admin.model_copy(
        update={"sasl_username": user, "sasl_password": SecretStr("a-long-test-password")}
    )
    producer = open_producer(login)
    try:
        stored = producer.send(topic, b"v").get(30)
    finally:
        producer.close()
    assert user in users
    assert set(grants) <= acls
    assert (topic, 0) == (stored.topic, stored.offset)


def test_wrong_password_is_refused_by_name_at_once(tls_admin: Settings) -> None:
    """A refused SCRAM login says so, naming the user and not the password, before the
    bootstrap timeout (which would be BrokerUnavailable, "no broker answered")."""
    wrong = tls_admin.model_copy(update={"sasl_password": SecretStr("not-the-password")})
    with pytest.raises(NotAuthorized) as refused:
        open_producer(wrong, ProducerOptions(bootstrap_timeout_ms=120_000))
    assert "refused the login of user 'admin'" in str(refused.value)
    assert "not-the-password" not in str(refused.value)


def test_untrusted_certificate_is_a_tls_refusal(tls_admin: Settings, tmp_path: Path) -> None:
    """A CA that did not sign the broker's certificate: NotAuthorized saying TLS refused."""
    _key, other = make_ca(name="another CA")
    other_file = tmp_path / "other-ca.pem"
    other_file.write_bytes(other.public_bytes(serialization.Encoding.PEM))
    untrusting = tls_admin.model_copy(update={"ssl_cafile": other_file})
    with pytest.raises(NotAuthorized, match=r"TLS refused.*not trusted"):
        open_admin(untrusting, AdminOptions(bootstrap_timeout_ms=120_000))
