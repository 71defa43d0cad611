"""librdkafka client settings, and opening a client with the same refusals as kafka-python.

The settings hxbus gives every librdkafka client (docs/transports.md lists them), the
``error_cb`` that keeps a refused login or TLS failure for the open check, and the open
itself: a client is handed out only once the broker answered; a refused login is
``NotAuthorized`` within a second (librdkafka itself would retry for ever).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import confluent_kafka as ck

from runtime.kafka.broker_probe import sasl_wanted, tls_refusal
from runtime.kafka.librdkafka_errors import (
    E,
    kafka_errors,
)
from runtime.kafka.options import ConsumerOptions, ProducerOptions
from runtime.kafka.records import (
    TopicPartition,
)
from runtime.settings import Settings
from schemas.errors import BrokerUnavailable, NotAuthorized

log = logging.getLogger("hxbus.kafka.librdkafka")
CLIENT_LOG = logging.getLogger("hxbus.kafka.librdkafka.client")

#: The Java client's reconnect ceiling (see ``runtime.kafka.kafka_python``): back on a
#: returning broker within a second.
RECONNECT_BACKOFF_MAX_MS = 1_000
#: Java's default partitioner for keyed records (murmur2); unkeyed ones go anywhere.
PARTITIONER = "murmur2_random"
#: The assignors kafka-python uses too, so members of both transports share a group.
ASSIGNMENT_STRATEGY = "range,roundrobin"
#: How long opening a client waits for the broker's first answer, by default (ms).
DEFAULT_BOOTSTRAP_TIMEOUT_MS = 30_000


class Connection:
    """Errors librdkafka reports outside a call (``error_cb``), kept for the open check."""

    def __init__(self) -> None:
        self.refusal: ck.KafkaError | None = None
        self.tls: ck.KafkaError | None = None
        self.fatal: ck.KafkaError | None = None

    def on_error(self, error: ck.KafkaError) -> None:
        code = error.code()
        if code in (E._AUTHENTICATION, E.SASL_AUTHENTICATION_FAILED):
            self.refusal = error
        elif code == E._SSL:
            self.tls = error
        elif error.fatal():
            self.fatal = error
        else:
            CLIENT_LOG.debug("client error %s", error.name())


class _Logger:
    """The ``logger`` object librdkafka writes to (it calls ``log(level, fmt, *args)``)."""

    def log(self, level: int, fmt: str, *args: object) -> None:
        CLIENT_LOG.log(logging.WARNING if level >= logging.ERROR else logging.DEBUG, fmt, *args)


def common_config(settings: Settings, connection: Connection) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap,
        "client.id": settings.client_id,
        "reconnect.backoff.max.ms": RECONNECT_BACKOFF_MAX_MS,
        "error_cb": connection.on_error,
        "logger": _Logger(),
    }
    protocol = settings.effective_security_protocol
    config["security.protocol"] = protocol
    if protocol.startswith("SASL_"):
        password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
        config |= {
            "sasl.mechanism": settings.sasl_mechanism,
            "sasl.username": settings.sasl_username or "",
            "sasl.password": password,
        }
    if protocol.endswith("SSL"):
        # Hostname checking is never off (as on kafka-python): the certificate must name
        # the host dialled.
        config["ssl.endpoint.identification.algorithm"] = "https"
        if settings.ssl_cafile:
            config["ssl.ca.location"] = str(settings.ssl_cafile)
    return config


def producer_config(
    settings: Settings, options: ProducerOptions, connection: Connection
) -> dict[str, Any]:
    """librdkafka producer settings: acks=all and idempotence always (design.md)."""
    config = common_config(settings, connection) | {
        "acks": "all",
        "enable.idempotence": True,
        "partitioner": PARTITIONER,
        "linger.ms": options.linger_ms,
    }
    optional = {
        "batch.size": options.batch_size,
        "compression.type": options.compression,
        "delivery.timeout.ms": options.delivery_timeout_ms,
        "request.timeout.ms": options.request_timeout_ms,
        "retries": options.retries,
        "transactional.id": options.transactional_id,
        "transaction.timeout.ms": options.transaction_timeout_ms,
    }
    return config | {k: v for k, v in optional.items() if v is not None}


def consumer_config(
    settings: Settings, options: ConsumerOptions, connection: Connection
) -> dict[str, Any]:
    """librdkafka consumer settings: manual commits, read_committed, kafka-python's assignors."""
    config = common_config(settings, connection) | {
        # librdkafka wants a group id even to read assigned partitions; one that never
        # subscribes or commits touches no group on the broker.
        "group.id": options.group_id or f"{settings.client_id}-unsubscribed",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": options.auto_offset_reset,
        "isolation.level": "read_committed",
        "partition.assignment.strategy": ASSIGNMENT_STRATEGY,
    }
    optional = {
        "session.timeout.ms": options.session_timeout_ms,
        "heartbeat.interval.ms": options.heartbeat_interval_ms,
        "fetch.max.bytes": options.fetch_max_bytes,
        "max.partition.fetch.bytes": options.max_partition_fetch_bytes,
        "queued.max.messages.kbytes": options.queued_max_kbytes,
    }
    return config | {k: v for k, v in optional.items() if v is not None}


# -- opening: the same refusals as kafka-python, fast ---------------------------------------------


def _refuse_if_login_wanted(settings: Settings, action: str) -> None:
    """A client without a login, to a broker that wants one: ``NotAuthorized`` at once,
    saying how to get a login (librdkafka would only see connections closed)."""
    if settings.effective_security_protocol != "PLAINTEXT":
        return
    mechanisms = sasl_wanted(settings)
    if not mechanisms:
        return
    raise NotAuthorized(
        f"{action}: the broker at {settings.bootstrap} wants a SASL login "
        f"({', '.join(mechanisms)}) and none is set: set HX_SASL_USERNAME and "
        'HX_SASL_PASSWORD, e.g. eval "$(hxbus credentials --agency A)" for an agency '
        "(--user bridge-js, --user auditor; an operator: --admin)"
    )


def _await_connected(
    client: Any, connection: Connection, settings: Settings, action: str, timeout_ms: int
) -> None:
    """Wait until the broker answers a metadata request; ``NotAuthorized`` as soon as it
    refused the login or the client refused its certificate, ``BrokerUnavailable`` when
    nothing answered within ``timeout_ms``."""
    deadline = time.monotonic() + timeout_ms / 1000
    last: BaseException | None = None
    while True:
        try:
            client.list_topics(timeout=0.25)
            return
        except ck.KafkaException as exc:
            last = exc
        client.poll(0)  # serves error_cb
        if connection.refusal is not None:
            raise NotAuthorized(
                f"{action}: the broker refused the login of user {settings.sasl_username!r} "
                f"({connection.refusal.str()}); check HX_SASL_USERNAME / HX_SASL_PASSWORD"
            )
        if connection.tls is not None:
            untrusted = tls_refusal(settings) or connection.tls.str()
            raise NotAuthorized(f"{action}: TLS refused, {untrusted}; check HX_SSL_CAFILE")
        if time.monotonic() >= deadline:
            raise BrokerUnavailable(
                f"{action}: Unable to bootstrap from {settings.bootstrap}: no broker "
                f"answered within {timeout_ms / 1000:g} s ({last})"
            )


def opened(
    make: Callable[[], Any],
    connection: Connection,
    settings: Settings,
    action: str,
    timeout_ms: int | None,
) -> Any:
    _refuse_if_login_wanted(settings, action)
    with kafka_errors(action):
        client = make()
    try:
        _await_connected(
            client, connection, settings, action, timeout_ms or DEFAULT_BOOTSTRAP_TIMEOUT_MS
        )
    except BaseException:
        close_quietly(client)
        raise
    return client


def close_quietly(client: Any) -> None:
    close = getattr(client, "close", None)
    if callable(close):
        try:
            close()
        except (ck.KafkaException, RuntimeError) as exc:
            log.debug("close after a failed open: %s", exc)


def native_tp(tp: TopicPartition, offset: int | None = None) -> ck.TopicPartition:
    if offset is None:
        return ck.TopicPartition(tp.topic, tp.partition)
    return ck.TopicPartition(tp.topic, tp.partition, offset)


def ours_tp(tp: ck.TopicPartition) -> TopicPartition:
    return TopicPartition(tp.topic, tp.partition)
