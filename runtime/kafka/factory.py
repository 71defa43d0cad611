"""Opening clients: the transport is chosen by ``HX_KAFKA_CLIENT`` (``Settings.kafka_client``).

A transport is a module of this package exposing ``open_producer(settings, options)``,
``open_consumer(settings, options)`` and ``open_admin(settings, options)`` that return
objects implementing ``runtime.kafka.protocols``, with security (SASL/SCRAM, TLS), the
client id and the fixed guarantees of ``runtime.kafka.options`` applied, and a refused
login or an untrusted broker certificate reported as ``NotAuthorized`` naming the user
(never the password) or the TLS failure. ``kafka-python`` (``runtime.kafka.kafka_python``)
is the default, pure Python; ``librdkafka`` (``runtime.kafka.librdkafka``, confluent-kafka)
is the optional extra ``hxbus[librdkafka]``.
"""

from __future__ import annotations

import importlib
import socket
from types import ModuleType

from runtime.kafka.options import AdminOptions, ConsumerOptions, ProducerOptions
from runtime.kafka.protocols import Admin, Consumer, Producer
from runtime.settings import Settings
from schemas.errors import BrokerError, ConfigError

#: ``HX_KAFKA_CLIENT`` value -> the module of this package implementing it.
TRANSPORTS = {"kafka-python": "kafka_python", "librdkafka": "librdkafka"}


def transport(settings: Settings) -> ModuleType:
    """The transport module ``settings`` ask for; ``ConfigError`` saying how to install it
    when its client library is missing."""
    name = settings.kafka_client
    try:
        return importlib.import_module(f"runtime.kafka.{TRANSPORTS[name]}")
    except ImportError as exc:
        if name == "librdkafka":
            raise ConfigError(
                "HX_KAFKA_CLIENT=librdkafka needs `pip install 'hxbus[librdkafka]'` "
                f"(confluent-kafka): {exc}"
            ) from exc
        raise


def open_producer(settings: Settings, options: ProducerOptions | None = None) -> Producer:
    """A connected idempotent acks=all producer (transactional with a ``transactional_id``)."""
    producer: Producer = transport(settings).open_producer(settings, options or ProducerOptions())
    return producer


def open_consumer(settings: Settings, options: ConsumerOptions | None = None) -> Consumer:
    """A connected consumer (manual commits, ``read_committed``); one per thread."""
    consumer: Consumer = transport(settings).open_consumer(settings, options or ConsumerOptions())
    return consumer


def open_admin(settings: Settings, options: AdminOptions | None = None) -> Admin:
    """A connected admin client; the caller closes it."""
    admin: Admin = transport(settings).open_admin(settings, options or AdminOptions())
    return admin


def broker_answers(settings: Settings) -> bool:
    """A Kafka broker answers a metadata request at ``settings.bootstrap`` (no exception).

    A plain TCP connect comes first: a client that cannot connect at all takes seconds to
    give up (and kafka-python leaks a socket, a ResourceWarning).
    """
    host, _, port = settings.bootstrap.split(",")[0].strip().rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            pass
    except (OSError, ValueError):
        return False
    try:
        admin = open_admin(settings, AdminOptions(bootstrap_timeout_ms=5000))
    except BrokerError:
        return False
    try:
        admin.describe_cluster()
    except Exception:  # anything that is not a working Kafka answers "no"
        return False
    finally:
        admin.close()
    return True
