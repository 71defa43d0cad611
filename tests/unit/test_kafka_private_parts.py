"""The private parts of kafka-python the boundary still uses exist (checked on 3.0.12).

Each test builds the real kafka-python object (no broker needed: the API version is
given, so nothing connects) or imports the real internal module, and fails the day an
upgrade removes what ``runtime.kafka`` reaches for.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import kafka
import kafka.net.manager
import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTopicPartition

from runtime.kafka.kafka_python import KafkaPythonProducer
from runtime.kafka.parked_fetches import drop_parked_records

_NOWHERE = {"bootstrap_servers": "127.0.0.1:1", "api_version": (3, 0)}


@pytest.fixture
def consumer() -> Iterator[KafkaConsumer]:
    client = KafkaConsumer(**_NOWHERE)
    yield client
    client.close(autocommit=False)


def test_the_version_these_parts_were_checked_on() -> None:
    """A different kafka-python is a reason to check every private part again."""
    assert "3.0.12" == kafka.__version__


def test_force_close_stops_a_real_producers_sender_thread() -> None:
    """``Producer.force_close`` reaches ``KafkaProducer._sender.force_close()``: the
    sender thread stops without sending, and ``close`` then returns."""
    raw = KafkaProducer(**_NOWHERE)
    producer = KafkaPythonProducer(raw)
    producer.force_close(join_timeout_s=5.0)
    alive = raw._sender.is_alive()
    producer.close(0)
    assert False is alive


def test_parked_records_of_a_real_consumer_are_dropped_and_drained(
    consumer: KafkaConsumer,
) -> None:
    """``Fetcher._paused_partition_records`` exists on a real consumer; the resumed
    partition's parked records are drained and dropped, a still paused one's kept."""

    class Parked:
        drained = False

        def drain(self) -> None:
            self.drained = True

    resumed, paused = KafkaTopicPartition("hx.inbox.a", 0), KafkaTopicPartition("hx.inbox.a", 1)
    gone, kept = Parked(), Parked()
    parked = consumer._fetcher._paused_partition_records
    parked.update({resumed: gone, paused: kept})
    dropped = drop_parked_records(consumer, [resumed])
    assert (1, {paused: kept}, True, False) == (dropped, parked, gone.drained, kept.drained)


def test_parked_records_have_the_drain_the_fix_calls() -> None:
    """kafka-python's parked ``PartitionRecords`` still has ``drain()``."""
    from kafka.consumer.fetcher import Fetcher

    assert True is callable(getattr(Fetcher.PartitionRecords, "drain", None))


def test_the_login_probes_internal_modules_build_a_sasl_handshake() -> None:
    """``kafka.net`` / ``kafka.protocol`` (runtime.kafka.login_probe) still frame a SASL
    handshake request and know the SCRAM mechanisms."""
    from kafka.net.sasl.scram import ScramClient
    from kafka.protocol.parser import KafkaProtocol
    from kafka.protocol.sasl import SaslHandshakeRequest

    parser = KafkaProtocol(client_id="hxbus-test")
    parser.send_request(SaslHandshakeRequest(version=1, mechanism="SCRAM-SHA-512"))
    framed = parser.send_bytes()
    assert (True, True) == ("SCRAM-SHA-512" in ScramClient.MECHANISMS, len(framed) > 4)


def test_a_refused_login_is_logged_with_the_exception_as_argument() -> None:
    """kafka-python logs a failed connection with the exception object as the log
    record's argument, where ``_LoginRefusals`` takes the refusal from."""
    source = inspect.getsource(kafka.net.manager)
    assert True is ("log.error('Connection failed: %s', exc)" in source)
