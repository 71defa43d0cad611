"""The one boundary to kafka-python: client factories and the exception mapping.

Every hxbus module that talks to Kafka builds its clients here, so security (SASL/SCRAM,
TLS), the client id and the delivery guarantees of design.md (acks=all, idempotence,
commit only after the sink took a record) are set in one place. kafka-python exceptions
are turned into the hxbus tree by ``kafka_errors()`` and re-raised ``from exc``, so callers
decide retry-or-DLQ from ``retriable`` on our classes, never from kafka-python's.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import kafka.errors as kafka_error
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from runtime.kafka.login_probe import login_refusal, sasl_wanted, tls_refusal
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


#: Longest wait between two attempts to reach a broker that went away (the Java client's
#: default). kafka-python 3 doubles its wait after every failure up to 30 s: a client that
#: outlived a 15-20 s outage then sat idle for up to ~25 s more while the broker answered
#: again — a producer's events expired unsent (``KafkaTimeoutError``), a bridge delivered
#: nothing. One connection attempt a second to an absent broker costs nothing.
RECONNECT_BACKOFF_MAX_MS = 1_000


#: Prefix of every role's client id (``hxbus-bridge-JS-1``, ``hxbus-tracker``).
CLIENT_ID_PREFIX = "hxbus"


def role_client_id(role: str, worker: int | None = None) -> str:
    """The Kafka client id of a role (and its worker number): ``hxbus-<role>[-<worker>]``."""
    return f"{CLIENT_ID_PREFIX}-{role}" + ("" if worker is None else f"-{worker}")


def for_role(settings: Settings, role: str, worker: int | None = None) -> Settings:
    """``settings`` whose Kafka clients (every factory below) name ``role`` and ``worker``.

    The broker shows the client id in ``kafka-consumer-groups --describe``, its request
    logs and quotas: one id per role tells a bridge from the tracker there. A role id is
    refined (``hxbus-bridge`` to ``hxbus-bridge-JS-1``); an ``HX_CLIENT_ID`` of the
    operator's own (not ``hxbus`` or ``hxbus-…``) wins.
    """
    current = settings.client_id
    if current != CLIENT_ID_PREFIX and not current.startswith(f"{CLIENT_ID_PREFIX}-"):
        return settings
    return settings.model_copy(update={"client_id": role_client_id(role, worker)})


def _common_config(settings: Settings) -> dict[str, Any]:
    return {
        "bootstrap_servers": settings.bootstrap.split(","),
        "client_id": settings.client_id,
        "reconnect_backoff_max_ms": RECONNECT_BACKOFF_MAX_MS,
        **settings.kafka_security(),
    }


class _LoginRefusals(logging.Handler):
    """Collects the SASL refusals kafka-python reports while it connects.

    kafka-python 3 logs a refused login (unknown user, wrong password) and retries until
    its bootstrap timeout, then raises only "Unable to bootstrap": to an operator that
    reads as "broker down". The refusal travels as the log record's argument (the
    exception object, not text), so it is taken from there. Often kafka-python never
    reads the refusal at all (see ``runtime.login_probe``): then the probe asks again.
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
def _connecting(settings: Settings, action: str) -> Iterator[None]:
    """``kafka_errors(action)``, turning a bootstrap timeout after a refused login, or
    against a broker certificate the client does not trust, into ``NotAuthorized``
    naming the user (never the password) or the TLS failure."""
    _refuse_if_login_wanted(settings, action)
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


def _refuse_if_login_wanted(settings: Settings, action: str) -> None:
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


def admin_client(settings: Settings, **overrides: Any) -> Any:
    """A connected ``KafkaAdminClient``; the caller closes it (it is a context manager)."""
    config = {**_common_config(settings), **overrides}
    with _connecting(settings, "connect admin client"):
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
    with _connecting(settings, "connect producer"):
        return KafkaProducer(**producer_config(settings, **overrides))


def force_close_producer(producer: Any, join_timeout_s: float = 10.0) -> None:
    """Stop a ``KafkaProducer``'s sender thread without sending; fail what it still holds.

    Why not ``close()``: kafka-python's public ``close()`` flushes first, and a producer
    that wedged (see ``producers.connection``) raises on records that will never complete,
    or waits on them. This uses kafka-python's private ``_sender.force_close()``, which is
    why it lives at this boundary. Afterwards ``close()`` returns at once (nothing is left
    to flush), so neither the caller nor kafka-python's ``__del__``/atexit hooks wait on
    records that cannot go. An object without a sender (a test double) is left alone.
    """
    sender = getattr(producer, "_sender", None)
    if sender is None:
        return
    sender.force_close()
    sender.join(join_timeout_s)


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
    with _connecting(settings, "connect consumer"):
        return KafkaConsumer(*topics, **consumer_config(settings, **overrides))


def broker_answers(settings: Settings) -> bool:
    """A Kafka broker answers a metadata request at ``settings.bootstrap`` (no exception).

    A plain TCP connect comes first: kafka-python leaks a socket (a ResourceWarning) when
    it cannot connect at all, and takes seconds to give up.
    """
    host, _, port = settings.bootstrap.split(",")[0].strip().rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            pass
    except (OSError, ValueError):
        return False
    try:
        admin = admin_client(settings, bootstrap_timeout_ms=5000)
    except BrokerError:
        return False
    try:
        admin.describe_cluster()
    except Exception:  # anything that is not a working Kafka answers "no"
        return False
    finally:
        admin.close()
    return True


def committed_offsets(
    admin: Any, group: str, partitions: Sequence[Any], *, timeout_s: float = 30.0
) -> dict[Any, Any]:
    """``group``'s committed offsets of ``partitions`` (OffsetAndMetadata per partition).

    On a fresh broker the group coordinator (``__consumer_offsets``) is created on first
    use and answers COORDINATOR_NOT_AVAILABLE / LOAD_IN_PROGRESS for a few seconds: those
    retriable errors are retried until ``timeout_s``, then reported as a BrokerError.
    """
    deadline = time.monotonic() + timeout_s
    with kafka_errors(f"read the committed offsets of group {group}"):
        while True:
            try:
                result: dict[Any, Any] = admin.list_group_offsets({group: list(partitions)})
                return dict(result.get(group, {}))
            except kafka_error.KafkaError as exc:
                if not exc.retriable or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
