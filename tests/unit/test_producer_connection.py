"""ProducerConnection: a wedged producer is thrown away and rebuilt, with a back-off.

Fake producers (client_fakes) stand in for runtime.kafka's; the broker outage itself is exercised in
tests/integration/test_publish.py.
"""

from __future__ import annotations

import pytest
from client_fakes import FakeProducer

from producers.connection import ProducerConnection
from producers.publisher import producer_overrides
from runtime import Settings
from runtime.kafka.kafka_python import producer_config
from schemas.errors import BrokerUnavailable


class Factory:
    """Builds producers p0, p1, ...; raises BrokerUnavailable while ``down``."""

    def __init__(self) -> None:
        self.built: list[FakeProducer] = []
        self.attempts = 0
        self.down = False

    def __call__(self) -> FakeProducer:
        self.attempts += 1
        if self.down:
            raise BrokerUnavailable("connect producer: Unable to bootstrap")
        self.built.append(FakeProducer(name=f"p{len(self.built)}"))
        return self.built[-1]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_abandoned_producer_is_force_closed_and_the_next_send_gets_a_new_one() -> None:
    """Its sender is stopped before ``close`` (which would wait on wedged records)."""
    factory = Factory()
    connection = ProducerConnection(factory)
    first = connection.current()

    connection.abandon(0)
    second = connection.current()

    assert (["force_close", "close"], True) == (first.calls, first.closed)
    assert (["p0", "p1"], "p1", 1, {0}) == (
        [p.name for p in factory.built],
        second.name,
        connection.generation,
        connection.abandoned,
    )


def test_an_event_of_an_abandoned_generation_does_not_throw_away_the_new_producer() -> None:
    """A late deadline of an event sent to generation 0 leaves generation 1 alone."""
    factory = Factory()
    connection = ProducerConnection(factory)
    connection.abandon(0)
    current = connection.current()

    connection.abandon(0)

    assert ("p1", [], False) == (connection.current().name, current.calls, current.closed)


def test_while_the_broker_is_away_a_new_producer_is_tried_once_per_back_off() -> None:
    """Sends in between fail at once with BrokerUnavailable; the first after it connects."""
    factory, clock = Factory(), Clock()
    connection = ProducerConnection(factory, retry_after_s=3.0, clock=clock)
    connection.abandon(0)
    factory.down = True

    with pytest.raises(BrokerUnavailable, match="Unable to bootstrap"):
        connection.current()
    clock.now += 2.9
    with pytest.raises(BrokerUnavailable, match=r"next attempt in 0\.1 s"):
        connection.current()
    factory.down = False
    clock.now += 0.1
    reconnected = connection.current()

    assert (3, "p1", 1) == (factory.attempts, reconnected.name, connection.generation)


def test_a_producer_of_the_caller_is_never_thrown_away() -> None:
    """Only a producer the connection built can be built again."""
    own = FakeProducer(name="own")
    connection = ProducerConnection(None, own)

    connection.abandon(0)

    assert (own, [], False) == (connection.current(), own.calls, own.closed)


def test_a_producer_that_outlived_an_outage_tries_the_broker_again_within_its_timeout() -> None:
    """kafka-python 3 backs off reconnecting up to 30 s; capped, a producer kept across an
    outage finds the returned broker before the events sent to it expire."""
    config = producer_config(Settings(), producer_overrides(delivery_timeout_ms=3000))

    assert config["reconnect_backoff_max_ms"] < config["delivery_timeout_ms"]
