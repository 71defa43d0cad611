"""runtime.kafka: the transport choice, kafka-python client settings, and the mapping of
kafka-python errors to hxbus errors (the boundary's own tests: they may import kafka)."""

from __future__ import annotations

import sys

import kafka.errors as kafka_error
import pytest
from pydantic import SecretStr

from runtime import Settings
from runtime.kafka import (
    ConsumerOptions,
    ProducerOptions,
    kafka_python_producer,
    open_producer,
    transport,
)
from runtime.kafka import kafka_python as kafka_python_transport
from runtime.kafka.errors import kafka_errors, raise_for_error_code
from runtime.kafka.kafka_python import consumer_config, producer_config
from runtime.kafka.records import headers_of
from schemas.errors import BrokerError, BrokerUnavailable, ConfigError, HxError, NotAuthorized


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (kafka_error.KafkaTimeoutError("Unable to bootstrap"), BrokerUnavailable),
        (kafka_error.KafkaConnectionError("refused"), BrokerUnavailable),
        (kafka_error.NodeNotReadyError(1), BrokerUnavailable),
        (kafka_error.RequestTimedOutError(), BrokerUnavailable),
        (ConnectionResetError("reset"), BrokerUnavailable),
        (kafka_error.TopicAuthorizationFailedError(), NotAuthorized),
        (kafka_error.GroupAuthorizationFailedError(), NotAuthorized),
        (kafka_error.ClusterAuthorizationFailedError(), NotAuthorized),
        (kafka_error.TransactionalIdAuthorizationFailedError(), NotAuthorized),
        (kafka_error.SaslAuthenticationFailedError(), NotAuthorized),
        (kafka_error.InvalidReplicationFactorError(), BrokerError),
        (kafka_error.NotEnoughReplicasError(), BrokerError),
    ],
)
def test_kafka_errors_map_to_our_tree(raised: Exception, expected: type[HxError]) -> None:
    """Each kafka-python error becomes exactly its hxbus class, chained to the original."""
    with pytest.raises(HxError) as caught, kafka_errors("send"):
        raise raised
    assert (expected, raised) == (type(caught.value), caught.value.__cause__)


def test_kafka_errors_name_the_action() -> None:
    """The message starts with the action, so the operator knows what failed."""
    with pytest.raises(BrokerUnavailable) as caught, kafka_errors("create topic hx.audit"):
        raise kafka_error.KafkaTimeoutError("Unable to bootstrap from 127.0.0.1:9")
    expected = "create topic hx.audit: KafkaTimeoutError: Unable to bootstrap from 127.0.0.1:9"
    assert expected == str(caught.value)


def test_kafka_errors_let_other_exceptions_through() -> None:
    """A bug in our code (ValueError) is not disguised as a broker error."""
    with pytest.raises(ValueError, match="ours"), kafka_errors():
        raise ValueError("ours")


def test_not_authorized_is_not_retriable_and_unavailable_is() -> None:
    """The consumer loop reads retriable from the class: ACL refusals are final."""
    expected = (False, True)
    assert expected == (NotAuthorized.retriable, BrokerUnavailable.retriable)


def test_error_code_in_a_response_raises_its_class() -> None:
    """Code 29 (TOPIC_AUTHORIZATION_FAILED) in an admin response raises NotAuthorized."""
    with pytest.raises(NotAuthorized) as caught:
        raise_for_error_code(29, "describe topic hx.audit")
    assert kafka_error.TopicAuthorizationFailedError is type(caught.value.__cause__)


def test_error_code_zero_is_no_error() -> None:
    """Code 0 in a response raises nothing."""
    assert None is raise_for_error_code(0)


def test_producer_waits_for_in_sync_replicas_and_is_idempotent() -> None:
    """Producers confirm only what is in-sync-replicated, and never write a retry twice."""
    config = producer_config(Settings(bootstrap="127.0.0.1:1,127.0.0.1:2", client_id="desk"))
    expected = {
        "bootstrap_servers": ["127.0.0.1:1", "127.0.0.1:2"],
        "client_id": "desk",
        "acks": "all",
        "enable_idempotence": True,
    }
    assert expected == {key: config[key] for key in expected}


def test_options_win_over_defaults() -> None:
    """A caller's option (a transactional id, a longer linger) replaces the default."""
    config = producer_config(
        Settings(), ProducerOptions(linger_ms=50, transactional_id="bridge-js")
    )
    expected = (50, "bridge-js")
    assert expected == (config["linger_ms"], config["transactional_id"])


def test_consumer_commits_by_hand_from_the_earliest_offset() -> None:
    """Consumers never auto-commit: a record is committed after its sink took it."""
    config = consumer_config(Settings(), ConsumerOptions(group_id="g"))
    expected = {
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "group_id": "g",
        "isolation_level": "read_committed",
    }
    assert expected == {key: config[key] for key in expected}


def test_consumer_read_ahead_is_bounded() -> None:
    """The fetch limits of ``ConsumerOptions`` reach kafka-python: by default 4 MiB a fetch
    and 512 KiB a partition (kafka-python's own: 50 MB and 1 MB); None leaves its default."""
    default = consumer_config(Settings(), ConsumerOptions(group_id="g"))
    given = consumer_config(
        Settings(),
        ConsumerOptions(group_id="g", fetch_max_bytes=None, max_partition_fetch_bytes=2048),
    )
    keys = ("fetch_max_bytes", "max_partition_fetch_bytes")
    assert (
        {"fetch_max_bytes": 4 * 1024 * 1024, "max_partition_fetch_bytes": 512 * 1024},
        {"max_partition_fetch_bytes": 2048},
    ) == ({k: default[k] for k in keys}, {k: given[k] for k in keys if k in given})


def test_sasl_settings_reach_every_client() -> None:
    """With a SASL user set, producer and consumer both carry the SCRAM credentials."""
    settings = Settings(sasl_username="js-bridge", sasl_password=SecretStr("pw"))
    expected = {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "js-bridge",
        "sasl_plain_password": "pw",
    }
    actual = [
        {key: config[key] for key in expected}
        for config in (producer_config(settings), consumer_config(settings))
    ]
    assert [expected, expected] == actual


def test_kafka_python_is_the_default_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without HX_KAFKA_CLIENT, clients are kafka-python's."""
    monkeypatch.delenv("HX_KAFKA_CLIENT", raising=False)
    assert kafka_python_transport is transport(Settings())


def test_librdkafka_without_its_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HX_KAFKA_CLIENT=librdkafka without confluent-kafka: a ConfigError naming the extra,
    before anything connects."""
    monkeypatch.setitem(sys.modules, "runtime.kafka.librdkafka", None)  # import fails
    settings = Settings(kafka_client="librdkafka", bootstrap="127.0.0.1:1")
    with pytest.raises(ConfigError) as refused:
        open_producer(settings)
    assert str(refused.value).startswith(
        "HX_KAFKA_CLIENT=librdkafka needs `pip install 'hxbus[librdkafka]'`"
    )


def test_an_unknown_transport_is_refused_by_the_settings() -> None:
    """HX_KAFKA_CLIENT accepts only kafka-python and librdkafka."""
    with pytest.raises(ValueError, match="kafka_client"):
        Settings(kafka_client="java")  # type: ignore[arg-type]


class _RefusingProducer:
    """A KafkaProducer whose send raises ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def send(self, *_args: object, **_kwargs: object) -> None:
        raise self.error


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (kafka_error.KafkaTimeoutError("buffer full"), BrokerUnavailable),
        (kafka_error.TopicAuthorizationFailedError(), NotAuthorized),
        (kafka_error.IllegalStateError("KafkaProducer already closed!"), BrokerError),
        (TypeError("headers must be list-type"), TypeError),
    ],
)
def test_a_refused_send_raises_the_mapped_error_naming_the_topic(
    raised: BaseException, expected: type[BaseException]
) -> None:
    """KafkaPythonProducer.send maps what kafka-python's send raises as kafka_errors does,
    naming the topic; other exceptions pass through untouched."""
    producer = kafka_python_producer.KafkaPythonProducer(_RefusingProducer(raised))
    with pytest.raises(expected) as caught:
        producer.send("hx.audit", b"v", b"k", [("h", b"1")])
    named = isinstance(raised, kafka_error.KafkaError)
    assert (expected, named, raised if named else None) == (
        type(caught.value),
        str(caught.value).startswith("send to hx.audit: "),
        caught.value.__cause__,
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, ()),
        ([], ()),
        ([("ce_id", b"1"), ("ce_type", b"AlertHit")], (("ce_id", b"1"), ("ce_type", b"AlertHit"))),
        ([("ce_id", b"1"), ("empty", None)], (("ce_id", b"1"), ("empty", b""))),
    ],
)
def test_headers_keep_wire_order_and_an_empty_value_is_empty_bytes(
    given: list[tuple[str, bytes | None]] | None, expected: tuple[tuple[str, bytes], ...]
) -> None:
    """A client's header pairs become ours in wire order; a header without a value (None)
    carries b"" (both transports hand out (name, bytes or None) pairs)."""
    assert expected == headers_of(given)
