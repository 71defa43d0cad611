"""A TLS-secured broker (``hxbus broker start --secure --tls``): SASL_SSL with a local CA.

Runs its own one-node cluster on free ports, not the shared development broker: most
tests here are about a client being refused. The refusals are the point of TLS: a client
that does not trust the broker's certificate (no CA, another CA) never sends its
password; a client that does not speak TLS does not get in at all.
"""

from __future__ import annotations

import gc
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from own_broker_support import free_port_pair

from hxbus import broker
from hxbus.broker.tls import make_ca
from hxbus.cli import main
from runtime import Settings, open_admin, open_consumer, open_producer
from runtime.kafka import AdminOptions, ConsumerOptions, NewTopic
from schemas.errors import BrokerUnavailable, NotAuthorized

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[broker.Cluster]:
    """A secured one-node cluster whose SASL listeners run inside TLS."""
    root = tmp_path_factory.mktemp("tls") / "broker"
    cluster = broker.start_cluster(
        root, nodes=1, port=free_port_pair(), secure=True, tls=True, timeout=180
    )
    try:
        yield cluster
    finally:
        broker.stop_cluster(root)


@pytest.fixture(scope="module")
def admin(tls_cluster: broker.Cluster) -> Settings:
    """The super-user's settings: SASL_SSL, the local CA, the right password."""
    return broker.admin_settings(tls_cluster)


def test_client_with_the_ca_produces_and_consumes(admin: Settings) -> None:
    """Right password, the cluster's CA: a message goes in and comes out over SASL_SSL."""
    topic = f"tls-{uuid.uuid4().hex[:8]}"
    client = open_admin(admin)
    try:
        client.create_topics([NewTopic(topic, 1, 1)])
    finally:
        client.close()
    producer = open_producer(admin)
    try:
        producer.send(topic, b"over tls").get(30)
    finally:
        producer.close()
    consumer = open_consumer(admin, ConsumerOptions(group_id=f"g-{topic}"))
    try:
        consumer.subscribe([topic])
        values: list[bytes | None] = []
        for _ in range(15):
            batches = consumer.poll(1.0)
            values += [r.value for records in batches.values() for r in records]
            if values:
                break
    finally:
        consumer.close()
    assert ("SASL_SSL", [b"over tls"]) == (admin.effective_security_protocol, values)


def test_client_without_the_ca_is_refused(admin: Settings) -> None:
    """Right password but no CA file: the system CAs do not trust the local CA."""
    without_ca = admin.model_copy(update={"ssl_cafile": None})
    assert "SASL_SSL" == without_ca.effective_security_protocol
    with pytest.raises(NotAuthorized, match=r"TLS refused.*not trusted"):
        open_admin(without_ca, AdminOptions(bootstrap_timeout_ms=3000))
    gc.collect()  # kafka-python's leaked TLS sockets, while this module's filter holds


def test_client_trusting_another_ca_is_refused(admin: Settings, tmp_path: Path) -> None:
    """Right password, a CA file of another CA: the broker's certificate does not chain."""
    _key, other = make_ca(name="another CA")
    other_file = tmp_path / "other-ca.pem"
    other_file.write_bytes(other.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(NotAuthorized, match=r"TLS refused.*not trusted"):
        open_admin(
            admin.model_copy(update={"ssl_cafile": other_file}),
            AdminOptions(bootstrap_timeout_ms=3000),
        )
    gc.collect()


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
def test_plaintext_client_to_the_tls_port_is_refused(admin: Settings, protocol: str) -> None:
    """A client that does not start TLS never gets a Kafka answer: it cannot bootstrap."""
    plain = admin.model_copy(update={"security_protocol": protocol, "ssl_cafile": None})
    with pytest.raises(BrokerUnavailable, match="Unable to bootstrap"):
        open_admin(plain, AdminOptions(bootstrap_timeout_ms=3000))


def test_private_keys_are_0600(tls_cluster: broker.Cluster) -> None:
    files = broker.tls_files(tls_cluster.root)
    modes = [stat.S_IMODE(p.stat().st_mode) for p in (files.ca_key, files.broker_key)]
    assert [0o600, 0o600] == modes


def test_cli_status_and_credentials_name_the_ca(
    tls_cluster: broker.Cluster,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``hxbus broker status`` prints SASL_SSL and the CA; ``hxbus credentials`` the
    HX_SSL_CAFILE line that goes with the login."""
    ca = broker.tls_files(tls_cluster.root).ca_cert
    monkeypatch.setenv("HX_STATE_DIR", str(tls_cluster.root.parent))
    monkeypatch.setattr("hxbus.cli.configure_logging", lambda *_args, **_kwargs: None)
    capsys.readouterr()
    assert 0 == main(["broker", "status"])
    status = capsys.readouterr().out.splitlines()
    assert 0 == main(["credentials", "--admin"])
    credentials = capsys.readouterr().out.splitlines()
    assert (["security SASL_SSL", f"CA file {ca}"], f"export HX_SSL_CAFILE={ca}") == (
        status[-2:],
        credentials[-1],
    )
