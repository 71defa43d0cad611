"""The one boundary to kafka-python: client factories and the exception mapping.

Every hxbus module that talks to Kafka builds its clients here, so security (SASL/SCRAM,
TLS), the client id and the delivery guarantees of design.md (acks=all, idempotence,
commit only after the sink took a record) are set in one place. kafka-python exceptions
are turned into the hxbus tree by ``kafka_errors()`` and re-raised ``from exc``, so callers
decide retry-or-DLQ from ``retriable`` on our classes, never from kafka-python's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import kafka.errors as kafka_error
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from runtime.settings import Settings
from schemas.errors import BrokerError, BrokerUnavailable, NotAuthorized

#: kafka-python errors that mean "the broker did not answer": retry later. kafka-python 3
#: reports an unreachable bootstrap as KafkaTimeoutError ("Unable to bootstrap"); the
#: NoBrokersAvailable of 2.x no longer exists.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    kafka_error.KafkaTimeoutError,
    kafka_error.KafkaConnectionError,
    kafka_error.NodeNotReadyError,
    kafka_error.RequestTimedOutError,
    kafka_error.BrokerNotAvailableError,
    ConnectionError,
)
#: kafka-python errors that mean "the broker refused who we are": retrying will not help.
_REFUSED: tuple[type[BaseException], ...] = (
    kafka_error.AuthorizationError,  # Topic/Group/Cluster/TransactionalId/DelegationToken
    kafka_error.SaslAuthenticationFailedError,
    kafka_error.UnsupportedSaslMechanismError,
    kafka_error.IllegalSaslStateError,
)


@contextmanager
def kafka_errors(action: str = "") -> Iterator[None]:
    """Map kafka-python exceptions raised inside the block to hxbus errors.

    ``action`` (e.g. ``"create topic hx.audit"``) prefixes the message so an operator sees
    what was being done. Our own errors and non-Kafka exceptions pass through untouched.
    """
    prefix = f"{action}: " if action else ""
    try:
        yield
    except _REFUSED as exc:
        raise NotAuthorized(f"{prefix}{exc}") from exc
    except _UNAVAILABLE as exc:
        raise BrokerUnavailable(f"{prefix}{exc}") from exc
    except kafka_error.KafkaError as exc:
        raise BrokerError(f"{prefix}{exc}") from exc


def raise_for_error_code(code: int, context: str | None = None) -> None:
    """Raise the hxbus error for a broker error code found in a response (0 = no error).

    kafka-python's admin calls with ``raise_errors=False`` hand back codes, not exceptions.
    """
    if code == 0:
        return
    error_class = kafka_error.for_code(code)
    with kafka_errors():
        raise error_class(context) if context else error_class()


def topic_config_resource(topic: str, configs: Mapping[str, str] | Sequence[str]) -> Any:
    """A topic ``ConfigResource``: config keys to describe, or a key->value dict to set."""
    value = dict(configs) if isinstance(configs, Mapping) else list(configs)
    return ConfigResource(ConfigResourceType.TOPIC, topic, value)


def _common_config(settings: Settings) -> dict[str, Any]:
    return {
        "bootstrap_servers": settings.bootstrap.split(","),
        "client_id": settings.client_id,
        **settings.kafka_security(),
    }


def admin_client(settings: Settings, **overrides: Any) -> Any:
    """A connected ``KafkaAdminClient``; the caller closes it (it is a context manager)."""
    config = {**_common_config(settings), **overrides}
    with kafka_errors("connect admin client"):
        return KafkaAdminClient(**config)


def producer_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """Producer settings that keep design.md's promise: confirmed = in-sync-replicated.

    acks=all with idempotence, so a retried batch is never written twice; a small linger
    batches bursts without adding noticeable latency. ``overrides`` win (e.g. a
    ``transactional_id`` for Kafka-to-Kafka sinks).
    """
    return {
        **_common_config(settings),
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        **overrides,
    }


def make_producer(settings: Settings, **overrides: Any) -> Any:
    """A connected ``KafkaProducer`` built from :func:`producer_config`."""
    with kafka_errors("connect producer"):
        return KafkaProducer(**producer_config(settings, **overrides))


def consumer_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """Consumer settings: manual commits (only after the sink took the record), from the
    earliest offset for a new group, and only committed transactional records."""
    return {
        **_common_config(settings),
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        **overrides,
    }


def make_consumer(settings: Settings, *topics: str, **overrides: Any) -> Any:
    """A connected ``KafkaConsumer`` subscribed to ``topics`` (if any), one per thread."""
    with kafka_errors("connect consumer"):
        return KafkaConsumer(*topics, **consumer_config(settings, **overrides))
