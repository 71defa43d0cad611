"""The librdkafka transport's settings and error mapping, without a broker."""

from __future__ import annotations

from pathlib import Path

import confluent_kafka as ck
import pytest
from pydantic import SecretStr

from runtime.kafka import ConsumerOptions, ProducerOptions
from runtime.kafka.librdkafka import (
    Connection,
    consumer_config,
    error_for,
    kafka_errors,
    producer_config,
)
from runtime.settings import Settings
from schemas.errors import BrokerError, BrokerUnavailable, NotAuthorized

E = ck.KafkaError


def _secured(tmp_path: Path) -> Settings:
    ca = tmp_path / "ca.pem"
    ca.write_text("not read here")
    return Settings(
        bootstrap="127.0.0.1:1",
        sasl_username="bridge-js",
        sasl_password=SecretStr("pw"),
        ssl_cafile=ca,
    )


def test_producer_keeps_the_delivery_guarantees_and_murmur2(tmp_path: Path) -> None:
    """acks=all, idempotence and Java's murmur2 partitioner, whatever the options say."""
    config = producer_config(
        _secured(tmp_path), ProducerOptions(linger_ms=7, compression="zstd"), Connection()
    )
    expected = {
        "acks": "all",
        "enable.idempotence": True,
        "partitioner": "murmur2_random",
        "linger.ms": 7,
        "compression.type": "zstd",
    }
    assert expected == {k: config[k] for k in expected}


def test_tls_and_scram_settings_check_the_hostname(tmp_path: Path) -> None:
    """SASL_SSL with SCRAM-SHA-512, the CA file, and hostname checking on."""
    settings = _secured(tmp_path)
    config = producer_config(settings, ProducerOptions(), Connection())
    expected = {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "bridge-js",
        "sasl.password": "pw",
        "ssl.ca.location": str(settings.ssl_cafile),
        "ssl.endpoint.identification.algorithm": "https",
    }
    assert expected == {k: config[k] for k in expected}


def test_consumer_commits_by_hand_and_reads_committed(tmp_path: Path) -> None:
    """No auto-commit, read_committed, and kafka-python's assignors (mixed groups work)."""
    config = consumer_config(_secured(tmp_path), ConsumerOptions(group_id="g"), Connection())
    expected = {
        "group.id": "g",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "partition.assignment.strategy": "range,roundrobin",
    }
    assert expected == {k: config[k] for k in expected}


@pytest.mark.parametrize(
    ("code", "kind", "retriable"),
    [
        (E._AUTHENTICATION, NotAuthorized, False),
        (E.TOPIC_AUTHORIZATION_FAILED, NotAuthorized, False),
        (E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, NotAuthorized, False),
        (E._TRANSPORT, BrokerUnavailable, True),
        (E._MSG_TIMED_OUT, BrokerUnavailable, True),
        (E.NOT_COORDINATOR, BrokerUnavailable, True),
        (E.INVALID_CONFIG, BrokerError, False),
        (E.UNKNOWN_TOPIC_OR_PART, BrokerError, True),
    ],
)
def test_error_codes_map_to_hxbus_errors(code: int, kind: type, retriable: bool) -> None:
    """Each librdkafka code becomes the hxbus class that tells the loop retry or not."""
    mapped = error_for(E(code), "send")
    assert (kind, retriable) == (type(mapped), mapped.retriable)


def test_fatal_error_is_not_retriable() -> None:
    """A fatal error (fenced producer) is never retried."""
    mapped = error_for(E(E.PRODUCER_FENCED, fatal=True), "commit transaction")
    assert (BrokerError, False) == (type(mapped), mapped.retriable)


def test_kafka_exception_is_raised_as_ours_from_it() -> None:
    """kafka_errors re-raises a KafkaException as our class, chained to the original."""
    original = ck.KafkaException(E(E._ALL_BROKERS_DOWN))
    with pytest.raises(BrokerUnavailable) as raised, kafka_errors("flush"):
        raise original
    assert original is raised.value.__cause__
    assert str(raised.value).startswith("flush: ")


def test_consumer_read_ahead_is_bounded(tmp_path: Path) -> None:
    """The fetch limits of ``ConsumerOptions`` reach librdkafka: by default 4 MiB a fetch,
    512 KiB a partition, 4 MiB queued ahead of poll (librdkafka's own: 50 MB / 64 MB)."""
    config = consumer_config(_secured(tmp_path), ConsumerOptions(group_id="g"), Connection())
    expected = {
        "fetch.max.bytes": 4 * 1024 * 1024,
        "max.partition.fetch.bytes": 512 * 1024,
        "queued.max.messages.kbytes": 4096,
    }
    assert expected == {k: config.get(k) for k in expected}


def test_consumer_fetch_limits_none_leave_librdkafka_defaults(tmp_path: Path) -> None:
    """A limit given as None is not set at all: librdkafka's default applies."""
    options = ConsumerOptions(
        group_id="g", fetch_max_bytes=None, max_partition_fetch_bytes=2048, queued_max_kbytes=None
    )
    config = consumer_config(_secured(tmp_path), options, Connection())
    keys = ("fetch.max.bytes", "max.partition.fetch.bytes", "queued.max.messages.kbytes")
    assert {"max.partition.fetch.bytes": 2048} == {k: config[k] for k in keys if k in config}
