"""kafka-python client settings, opening a client (a refused login said as such), conversions.

The settings hxbus gives every kafka-python client, the watch that turns a refused login
(which kafka-python only logs) into ``NotAuthorized`` naming the user, and the conversions
between kafka-python's partitions and records and ours.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import kafka.errors as kafka_error
from kafka import TopicPartition as KafkaTopicPartition
from kafka.structs import OffsetAndMetadata

from runtime.kafka.broker_probe import sasl_wanted, tls_refusal
from runtime.kafka.errors import kafka_errors
from runtime.kafka.login_probe import login_refusal
from runtime.kafka.options import ConsumerOptions, ProducerOptions
from runtime.kafka.records import (
    Record,
    TopicPartition,
    headers_of,
)
from runtime.settings import Settings
from schemas.errors import BrokerUnavailable, NotAuthorized

#: Longest wait between two attempts to reach a broker that went away (the Java client's
#: default). kafka-python 3 doubles its wait after every failure up to 30 s: a client that
#: outlived a 15-20 s outage then sat idle for up to ~25 s more while the broker answered
#: again — a producer's events expired unsent (``KafkaTimeoutError``), a bridge delivered
#: nothing. One connection attempt a second to an absent broker costs nothing.
RECONNECT_BACKOFF_MAX_MS = 1_000


def common_config(settings: Settings) -> dict[str, Any]:
    return {
        "bootstrap_servers": settings.bootstrap.split(","),
        "client_id": settings.client_id,
        "reconnect_backoff_max_ms": RECONNECT_BACKOFF_MAX_MS,
        **settings.kafka_security(),
    }


def set_given(config: dict[str, Any], **values: object) -> dict[str, Any]:
    """``config`` with ``values`` that are not None (None: kafka-python's default)."""
    config.update({key: value for key, value in values.items() if value is not None})
    return config


def producer_config(settings: Settings, options: ProducerOptions | None = None) -> dict[str, Any]:
    """KafkaProducer settings that keep design.md's promise: confirmed = in-sync-replicated.

    acks=all with idempotence, so a retried batch is never written twice; a small linger
    batches bursts without adding noticeable latency.
    """
    o = options or ProducerOptions()
    config = {
        **common_config(settings),
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": o.linger_ms,
        "max_in_flight_requests_per_connection": 5,
    }
    return set_given(
        config,
        batch_size=o.batch_size,
        compression_type=o.compression,
        delivery_timeout_ms=o.delivery_timeout_ms,
        request_timeout_ms=o.request_timeout_ms,
        max_block_ms=o.max_block_ms,
        retries=o.retries,
        bootstrap_timeout_ms=o.bootstrap_timeout_ms,
        transactional_id=o.transactional_id,
        transaction_timeout_ms=o.transaction_timeout_ms,
    )


def consumer_config(settings: Settings, options: ConsumerOptions | None = None) -> dict[str, Any]:
    """KafkaConsumer settings: manual commits (only after the sink took the record), and only
    committed transactional records."""
    o = options or ConsumerOptions()
    config = {
        **common_config(settings),
        "group_id": o.group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": o.auto_offset_reset,
        "isolation_level": "read_committed",
        "max_poll_records": o.max_poll_records,
    }
    return set_given(
        config,
        session_timeout_ms=o.session_timeout_ms,
        heartbeat_interval_ms=o.heartbeat_interval_ms,
        bootstrap_timeout_ms=o.bootstrap_timeout_ms,
        fetch_max_bytes=o.fetch_max_bytes,
        max_partition_fetch_bytes=o.max_partition_fetch_bytes,
    )


# -- connecting: a refused login said as such ------------------------------------------------


class _LoginRefusals(logging.Handler):
    """Collects the SASL refusals kafka-python reports while it connects.

    kafka-python 3 logs a refused login (unknown user, wrong password) and retries until
    its bootstrap timeout, then raises only "Unable to bootstrap": to an operator that
    reads as "broker down". The refusal travels as the log record's argument (the
    exception object, not text; checked on 3.0.12), so it is taken from there. Often
    kafka-python never reads the refusal at all (see ``runtime.kafka.login_probe``):
    then the probe asks again.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.refusals: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        self.refusals += [
            a for a in args if isinstance(a, kafka_error.SaslAuthenticationFailedError)
        ]


@contextmanager
def connecting(settings: Settings, action: str) -> Iterator[None]:
    """``kafka_errors(action)``, turning a bootstrap timeout after a refused login, or
    against a broker certificate the client does not trust, into ``NotAuthorized``
    naming the user (never the password) or the TLS failure."""
    refuse_if_login_wanted(settings, action)
    refuse_if_login_refused(settings, action)
    watcher = _LoginRefusals()
    kafka_logger = logging.getLogger("kafka")
    kafka_logger.addHandler(watcher)
    try:
        with kafka_errors(action):
            yield
    except BrokerUnavailable as exc:
        untrusted = tls_refusal(settings)
        if untrusted is not None:
            raise NotAuthorized(f"{action}: TLS refused, {untrusted}; check HX_SSL_CAFILE") from exc
        if not settings.sasl_username:
            raise
        refusal = str(watcher.refusals[-1]) if watcher.refusals else login_refusal(settings)
        if refusal is None:
            raise
        raise NotAuthorized(
            f"{action}: the broker refused the login of user {settings.sasl_username!r} "
            f"({refusal}); check HX_SASL_USERNAME / HX_SASL_PASSWORD"
        ) from exc
    finally:
        kafka_logger.removeHandler(watcher)


#: Bootstraps found to serve clients without a login (asked once per process).
_PLAIN_LISTENERS: set[str] = set()


def refuse_if_login_wanted(settings: Settings, action: str) -> None:
    """A client without a login, to a broker that wants one: NotAuthorized within a few
    seconds, saying how to get a login, instead of kafka-python's 31 s bootstrap timeout."""
    if (
        settings.effective_security_protocol != "PLAINTEXT"
        or settings.bootstrap in _PLAIN_LISTENERS
    ):
        return
    mechanisms = sasl_wanted(settings)
    if not mechanisms:
        if mechanisms is not None:  # it answered: plaintext; no need to ask again
            _PLAIN_LISTENERS.add(settings.bootstrap)
        return
    raise NotAuthorized(
        f"{action}: the broker at {settings.bootstrap} wants a SASL login "
        f"({', '.join(mechanisms)}) and none is set: set HX_SASL_USERNAME and "
        'HX_SASL_PASSWORD, e.g. eval "$(hxbus credentials --agency A)" for an agency '
        "(--user bridge-js, --user auditor; an operator: --admin)"
    )


#: Logins already probed in this process: (bootstrap, user, a digest of the password),
#: asked once each (the digest, so that the set keeps no second copy of a password).
_PROBED_LOGINS: set[tuple[str, str, bytes]] = set()


def refuse_if_login_refused(settings: Settings, action: str) -> None:
    """A SCRAM login the broker refuses (unknown user, wrong password): NotAuthorized at
    once, naming the user, instead of after kafka-python's 30 s bootstrap timeout (it
    retries a refused login as if the broker were down; ``runtime.kafka.login_probe``).
    One probe login per bootstrap, user, password and process: a few milliseconds."""
    user = settings.sasl_username
    if not user:
        return
    secret = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
    login = (settings.bootstrap, user, hashlib.sha256(secret.encode()).digest())
    if login in _PROBED_LOGINS:
        return
    _PROBED_LOGINS.add(login)
    refusal = login_refusal(settings)
    if refusal is None:  # accepted, or no answer: the client's own connect says the rest
        return
    raise NotAuthorized(
        f"{action}: the broker refused the login of user {user!r} ({refusal}); "
        "check HX_SASL_USERNAME / HX_SASL_PASSWORD"
    )


# -- conversions --------------------------------------------------------------------------


def kafka_tp(tp: TopicPartition) -> KafkaTopicPartition:
    return KafkaTopicPartition(tp.topic, tp.partition)


def ours_tp(tp: Any) -> TopicPartition:
    return TopicPartition(tp.topic, tp.partition)


def offsets_meta(offsets: Mapping[TopicPartition, int]) -> dict[KafkaTopicPartition, Any]:
    return {kafka_tp(tp): OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()}


def record_of(r: Any) -> Record:
    return Record(
        r.topic, r.partition, r.offset, r.key, r.value, headers_of(r.headers), r.timestamp
    )
