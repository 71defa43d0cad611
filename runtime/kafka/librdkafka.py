"""The librdkafka transport (``HX_KAFKA_CLIENT=librdkafka``): confluent-kafka behind our protocols.

confluent-kafka (``pip install 'hxbus[librdkafka]'``) wraps librdkafka, a C client with its
own threads: sends, fetches, heartbeats and retries run there, off the GIL. Checked on
confluent-kafka 2.16.1 with its bundled librdkafka 2.16.0 against Kafka 4.1.2; 2.6.1 is
the oldest confluent-kafka whose librdkafka logs in to Kafka 4.x with SCRAM-SHA-512
(docs/transports.md). What this module keeps in mind about librdkafka:

- Callbacks (delivery reports, commit results, rebalances, errors, log lines) run only
  inside ``poll``/``consume``/``flush`` on the caller's thread. So a producer serves them
  without blocking (``poll(0)``) on every send and while anyone waits on a send, and a
  consumer's rebalance listener runs inside ``Consumer.poll`` on the polling thread.
- Its default partitioner is ``consistent_random`` (CRC32), not Java's murmur2: a key
  would land in another partition than kafka-python or a Java partner puts it (and the
  audit trail looks for it). ``partitioner=murmur2_random`` agrees with
  ``runtime.kafka.partitioner`` (tests/integration/test_librdkafka_transport.py proves it).
- A refused SASL login is not an exception: librdkafka logs it and retries for ever. The
  clients are opened with ``error_cb``, and :func:`_await_connected` asks for metadata in
  short steps until the broker answers or an authentication error arrived: the same
  ``NotAuthorized`` as on kafka-python, within a second, not a bootstrap timeout.
- ``produce`` never blocks: a full queue raises ``BufferError``; ``max_block_ms`` is kept
  by serving delivery reports until there is room.
- ``Consumer.consume(n, timeout)`` waits until ``n`` records or the timeout: ``poll``
  takes what is there at once and waits only for a first record.
- librdkafka has none of kafka-python's parked-fetch trouble (``parked_fetches``): a
  resumed partition is fetched again from its position; nothing private is reached here.
- Every client must be closed (its threads and sockets stay until then): ``close``
  always closes, also after a failed flush; an open that fails closes what it made.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import confluent_kafka as ck
from confluent_kafka import admin as ck_admin

from runtime.kafka.broker_probe import acls_disabled, sasl_wanted, tls_refusal
from runtime.kafka.options import AdminOptions, ConsumerOptions, ProducerOptions
from runtime.kafka.protocols import (
    Admin,
    CommitCallback,
    Consumer,
    Producer,
    RebalanceListener,
)
from runtime.kafka.records import (
    AclBinding,
    BrokerNode,
    GroupMetadata,
    NewTopic,
    PartitionDescription,
    Record,
    RecordMetadata,
    TopicDescription,
    TopicPartition,
)
from runtime.settings import Settings
from schemas.errors import BrokerError, BrokerUnavailable, HxError, NotAuthorized

log = logging.getLogger("hxbus.kafka.librdkafka")
#: librdkafka's own log lines (connection failures, retries), served in poll.
_CLIENT_LOG = logging.getLogger("hxbus.kafka.librdkafka.client")

#: The Java client's reconnect ceiling (see ``runtime.kafka.kafka_python``): back on a
#: returning broker within a second.
RECONNECT_BACKOFF_MAX_MS = 1_000
#: Java's default partitioner for keyed records (murmur2); unkeyed ones go anywhere.
PARTITIONER = "murmur2_random"
#: The assignors kafka-python uses too, so members of both transports share a group.
ASSIGNMENT_STRATEGY = "range,roundrobin"
#: How long opening a client waits for the broker's first answer, by default (ms).
DEFAULT_BOOTSTRAP_TIMEOUT_MS = 30_000
#: Iterations of a SCRAM credential written by ``alter_scram_users`` (Kafka's minimum).
SCRAM_ITERATIONS = 4096
#: Offsets librdkafka uses for "none" (OFFSET_INVALID) and "unknown" watermarks.
_NO_OFFSET = ck.OFFSET_INVALID

# -- errors ---------------------------------------------------------------------------------

E = ck.KafkaError
#: "Who we are" refused: retrying will not help.
_REFUSED_CODES = frozenset(
    {
        E._AUTHENTICATION,
        E.SASL_AUTHENTICATION_FAILED,
        E.UNSUPPORTED_SASL_MECHANISM,
        E.ILLEGAL_SASL_STATE,
        E.TOPIC_AUTHORIZATION_FAILED,
        E.GROUP_AUTHORIZATION_FAILED,
        E.CLUSTER_AUTHORIZATION_FAILED,
        E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        E.DELEGATION_TOKEN_AUTHORIZATION_FAILED,
    }
)
#: "The broker did not answer": retry later.
_UNAVAILABLE_CODES = frozenset(
    {
        E._TRANSPORT,
        E._ALL_BROKERS_DOWN,
        E._TIMED_OUT,
        E._MSG_TIMED_OUT,
        E._RESOLVE,
        E._WAIT_COORD,
        E.REQUEST_TIMED_OUT,
        E.BROKER_NOT_AVAILABLE,
        E.NETWORK_EXCEPTION,
        E.LEADER_NOT_AVAILABLE,
        E.NOT_LEADER_FOR_PARTITION,
        E.COORDINATOR_NOT_AVAILABLE,
        E.NOT_COORDINATOR,
        E.COORDINATOR_LOAD_IN_PROGRESS,
    }
)


#: Refusals that no retry changes: the record or the request itself is wrong, or this
#: producer was fenced by a newer one with its transactional id.
_FINAL_CODES = frozenset(
    {
        E.MSG_SIZE_TOO_LARGE,
        E.RECORD_LIST_TOO_LARGE,
        E.INVALID_RECORD,
        E.INVALID_CONFIG,
        E.INVALID_REQUEST,
        E.UNSUPPORTED_VERSION,
        E.INVALID_TRANSACTION_TIMEOUT,
        E.PRODUCER_FENCED,
        E._FENCED,
        E.INVALID_PRODUCER_EPOCH,
    }
)


def error_for(error: ck.KafkaError, action: str = "") -> BrokerError:
    """Our error for a librdkafka ``KafkaError``: refused (``NotAuthorized``), unanswered
    (``BrokerUnavailable``) or any other refusal (``BrokerError``, retriable as on
    kafka-python, except a fatal error, e.g. a fenced producer, and the refusals of
    ``_FINAL_CODES``, which no retry changes)."""
    prefix = f"{action}: " if action else ""
    text = f"{prefix}{error.str()} ({error.name()})"
    code = error.code()
    ours: BrokerError
    if code in _REFUSED_CODES:
        ours = NotAuthorized(text)
    elif code in _UNAVAILABLE_CODES:
        ours = BrokerUnavailable(text)
    else:
        ours = BrokerError(text)
        if error.fatal() or code in _FINAL_CODES:
            ours.retriable = False
    # Chained to the client's error, as when raised ``from`` it (callers and tests read
    # the Kafka error name there); ``raise ... from exc`` replaces it with the original.
    ours.__cause__ = ck.KafkaException(error)
    return ours


def _kafka_error(exc: BaseException) -> ck.KafkaError | None:
    if isinstance(exc, ck.KafkaException) and exc.args and isinstance(exc.args[0], E):
        return exc.args[0]
    return None


@contextmanager
def kafka_errors(action: str = "") -> Iterator[None]:
    """Map confluent-kafka exceptions raised inside the block to hxbus errors (``from``
    the original); our own errors and other exceptions pass through untouched."""
    try:
        yield
    except HxError:
        raise
    except ck.KafkaException as exc:
        error = _kafka_error(exc)
        if error is None:
            raise BrokerError(f"{action}: {exc}" if action else str(exc)) from exc
        raise error_for(error, action) from exc
    except BufferError as exc:  # the local queue is full: the broker is not taking records
        raise BrokerUnavailable(f"{action}: {exc}" if action else str(exc)) from exc


def _raise_if(error: ck.KafkaError | None, action: str) -> None:
    if error is not None and error.code() != E.NO_ERROR:
        raise error_for(error, action)


# -- configuration -----------------------------------------------------------------------------


class _Connection:
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
            _CLIENT_LOG.debug("client error %s", error.name())


class _Logger:
    """The ``logger`` object librdkafka writes to (it calls ``log(level, fmt, *args)``)."""

    def log(self, level: int, fmt: str, *args: object) -> None:
        _CLIENT_LOG.log(logging.WARNING if level >= logging.ERROR else logging.DEBUG, fmt, *args)


def _common_config(settings: Settings, connection: _Connection) -> dict[str, Any]:
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
    settings: Settings, options: ProducerOptions, connection: _Connection
) -> dict[str, Any]:
    """librdkafka producer settings: acks=all and idempotence always (design.md)."""
    config = _common_config(settings, connection) | {
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
    settings: Settings, options: ConsumerOptions, connection: _Connection
) -> dict[str, Any]:
    """librdkafka consumer settings: manual commits, read_committed, kafka-python's assignors."""
    config = _common_config(settings, connection) | {
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
    client: Any, connection: _Connection, settings: Settings, action: str, timeout_ms: int
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


def _opened(
    make: Callable[[], Any],
    connection: _Connection,
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
        _close_quietly(client)
        raise
    return client


def _close_quietly(client: Any) -> None:
    close = getattr(client, "close", None)
    if callable(close):
        try:
            close()
        except (ck.KafkaException, RuntimeError) as exc:
            log.debug("close after a failed open: %s", exc)


def _native(tp: TopicPartition, offset: int | None = None) -> ck.TopicPartition:
    if offset is None:
        return ck.TopicPartition(tp.topic, tp.partition)
    return ck.TopicPartition(tp.topic, tp.partition, offset)


def _ours(tp: ck.TopicPartition) -> TopicPartition:
    return TopicPartition(tp.topic, tp.partition)


# -- producer ---------------------------------------------------------------------------------


class _Send:
    """A ``SendFuture``: done when librdkafka's delivery report for the record was served.

    The report runs inside a ``poll`` of whichever thread serves the producer; a waiter
    serves it too (``poll`` is thread-safe), so a plain flag is enough: no lock per record.
    """

    __slots__ = ("_done", "_error", "_metadata", "_producer")

    def __init__(self, producer: LibrdkafkaProducer) -> None:
        self._producer = producer
        self._done = False
        self._error: BaseException | None = None
        self._metadata: RecordMetadata | None = None

    def delivered(self, error: ck.KafkaError | None, message: ck.Message) -> None:
        if error is not None:
            self._error = error_for(error, f"send to {message.topic()}")
        else:
            self._metadata = RecordMetadata(
                str(message.topic()), int(message.partition() or 0), int(message.offset() or 0)
            )
        self._done = True

    @property
    def is_done(self) -> bool:
        if not self._done:
            self._producer.serve()
        return self._done

    @property
    def error(self) -> BaseException | None:
        return self._error if self.is_done else None

    def get(self, timeout_s: float | None = None) -> RecordMetadata:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self._done:
            left = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if left <= 0:
                raise BrokerUnavailable(f"no acknowledgement within {timeout_s:g} s")
            self._producer.serve(left)
        if self._error is not None:
            raise self._error
        assert self._metadata is not None  # set before _done when there is no error
        return self._metadata


class LibrdkafkaProducer:
    """``runtime.kafka.protocols.Producer`` on confluent-kafka's ``Producer``."""

    def __init__(
        self, producer: ck.Producer, options: ProducerOptions, common: Mapping[str, Any]
    ) -> None:
        self._producer = producer
        #: The connection settings (for a group-metadata consumer, see _group_metadata).
        self._common = dict(common)
        self._bare_groups: dict[str, Any] = {}
        self._max_block_s = (options.max_block_ms or 60_000) / 1000
        self._transactional = options.transactional_id is not None
        self._closed = False
        self._txn_timeout_s = (options.transaction_timeout_ms or 60_000) / 1000

    def serve(self, timeout_s: float = 0.0) -> None:
        """Run the delivery reports (and logs, errors) that librdkafka has ready."""
        self._producer.poll(timeout_s)

    def send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> _Send:
        future = _Send(self)
        kwargs: dict[str, Any] = {"value": value, "key": key, "on_delivery": future.delivered}
        if headers:
            kwargs["headers"] = list(headers)
        if partition is not None:
            kwargs["partition"] = partition
        deadline = time.monotonic() + self._max_block_s
        with kafka_errors(f"send to {topic}"):
            while True:
                try:
                    self._producer.produce(topic, **kwargs)
                    break
                except BufferError:
                    if time.monotonic() >= deadline:
                        raise
                    self._producer.poll(0.05)  # reports free room in the queue
            self._producer.poll(0)
        return future

    def flush(self, timeout_s: float | None = None) -> None:
        with kafka_errors("flush"):
            left = self._producer.flush(-1 if timeout_s is None else timeout_s)
        if left:
            raise BrokerUnavailable(
                f"flush: {left} records not acknowledged within {timeout_s:g} s"
                if timeout_s is not None
                else f"flush: {left} records not acknowledged"
            )

    def close(self, timeout_s: float | None = None) -> None:
        if self._closed:
            return
        try:
            self.flush(timeout_s)
        finally:
            self._close()

    def force_close(self, join_timeout_s: float = 10.0) -> None:
        """Purge what is queued and in flight (each such send fails with ``_PURGE_*``),
        serve those reports, and close: ``close`` returns at once afterwards."""
        if self._closed:
            return
        try:
            with kafka_errors("force close producer"):
                self._producer.purge(in_queue=True, in_flight=True, blocking=False)
                self._producer.flush(min(join_timeout_s, 1.0))
        finally:
            self._close()

    def _close(self) -> None:
        self._closed = True
        close = getattr(self._producer, "close", None)  # confluent-kafka >= 2.12
        if not callable(close):
            return
        try:
            close()
        except (ck.KafkaException, RuntimeError, SystemError) as exc:
            # confluent-kafka 2.16.1's close() of a producer fenced by a newer instance
            # (a fatal error) tries to abort and fails with a SystemError: the producer
            # is released all the same; nothing is left to report.
            log.warning("close producer: %s", exc)

    def partitions_for(self, topic: str) -> frozenset[int]:
        with kafka_errors(f"metadata of {topic}"):
            metadata = self._producer.list_topics(topic, timeout=30)
        described = metadata.topics.get(topic)
        if described is None:
            raise BrokerError(f"metadata of {topic}: the broker does not know the topic")
        _raise_if(described.error, f"metadata of {topic}")
        return frozenset(described.partitions)

    def init_transactions(self) -> None:
        with kafka_errors("init transactions"):
            self._producer.init_transactions(self._txn_timeout_s)

    def begin_transaction(self) -> None:
        with kafka_errors("begin transaction"):
            self._producer.begin_transaction()

    def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, int], group: GroupMetadata
    ) -> None:
        native = [_native(tp, offset) for tp, offset in offsets.items()]
        with kafka_errors("send offsets to transaction"):
            self._producer.send_offsets_to_transaction(
                native, self._group_metadata(group), self._txn_timeout_s
            )

    def _group_metadata(self, group: GroupMetadata) -> Any:
        """librdkafka's serialized group metadata: the consumer's own, or (a caller that
        has only the group id) that of a consumer of the group that never joined it, as
        kafka-python sends then: no generation, so the broker does not fence by it."""
        if group.native is not None:
            return group.native
        if group.group_id not in self._bare_groups:
            consumer = ck.Consumer({**self._common, "group.id": group.group_id})
            try:
                self._bare_groups[group.group_id] = consumer.consumer_group_metadata()
            finally:
                consumer.close()
        return self._bare_groups[group.group_id]

    def commit_transaction(self) -> None:
        with kafka_errors("commit transaction"):
            self._producer.commit_transaction(self._txn_timeout_s)

    def abort_transaction(self) -> None:
        with kafka_errors("abort transaction"):
            self._producer.abort_transaction(self._txn_timeout_s)


def open_producer(settings: Settings, options: ProducerOptions) -> Producer:
    """A connected idempotent acks=all producer (transactional with a ``transactional_id``)."""
    connection = _Connection()
    config = producer_config(settings, options, connection)
    producer = _opened(
        lambda: ck.Producer(config),
        connection,
        settings,
        "connect producer",
        options.bootstrap_timeout_ms,
    )
    common = _common_config(settings, connection)
    return LibrdkafkaProducer(producer, options, common)


# -- consumer ---------------------------------------------------------------------------------


def _headers(raw: Any) -> tuple[tuple[str, bytes], ...]:
    # A consumed message's headers are a list of (name, bytes or None) pairs.
    return tuple((str(name), bytes(value or b"")) for name, value in (raw or ()))


def _record(message: ck.Message) -> Record:
    headers = _headers(message.headers())
    _kind, timestamp = message.timestamp()
    return Record(
        topic=str(message.topic()),
        partition=int(message.partition() or 0),
        offset=int(message.offset() or 0),
        key=message.key(),
        value=message.value(),
        headers=headers,
        timestamp_ms=int(timestamp),
    )


class _Rebalance:
    """librdkafka's on_assign/on_revoke/on_lost, turned into the ``RebalanceListener``
    calls (on the polling thread, inside ``poll``)."""

    def __init__(self, consumer: LibrdkafkaConsumer, listener: RebalanceListener | None) -> None:
        self._consumer = consumer
        self._listener = listener

    def assigned(self, _native_consumer: ck.Consumer, partitions: list[ck.TopicPartition]) -> None:
        self._consumer.forget_seeks(partitions)  # a new owner starts from the committed
        if self._listener is not None:
            self._listener.on_assigned(frozenset(_ours(tp) for tp in partitions))

    def revoked(self, native: ck.Consumer, partitions: list[ck.TopicPartition]) -> None:
        if self._listener is None:
            return
        offsets = self._listener.on_revoked(frozenset(_ours(tp) for tp in partitions))
        if not offsets:
            return
        try:
            native.commit(offsets=[_native(tp, o) for tp, o in offsets.items()], asynchronous=False)
        except ck.KafkaException as exc:  # best effort: the next owner reads them again
            log.warning("commit on revoke failed: %s", exc)

    def lost(self, _native_consumer: ck.Consumer, partitions: list[ck.TopicPartition]) -> None:
        if self._listener is not None:
            self._listener.on_lost(frozenset(_ours(tp) for tp in partitions))


class LibrdkafkaConsumer:
    """``runtime.kafka.protocols.Consumer`` on confluent-kafka's ``Consumer``."""

    def __init__(self, consumer: ck.Consumer, options: ConsumerOptions) -> None:
        self._consumer = consumer
        self._options = options
        self._max_records = options.max_poll_records
        self._group_id = options.group_id
        #: Partitions read by ``assign`` (no group) -> the offset fetching starts at.
        self._manual: dict[TopicPartition, int] | None = None
        #: The manual assignment is handed to librdkafka only when first needed (poll,
        #: pause): librdkafka starts fetching at ``assign``, and a ``seek`` right after it
        #: raced that fetch (records from before the sought offset reached the caller, some
        #: twice). Until then a seek only moves the start, as kafka-python's does.
        self._unapplied = False
        #: Paused partitions of the manual assignment (paused again after a re-assign).
        self._paused: set[TopicPartition] = set()
        self._commits: deque[tuple[frozenset[tuple[str, int, int]], CommitCallback]] = deque()
        #: The offset each partition was last sought to (position before anything is read).
        self._sought: dict[TopicPartition, int] = {}
        self._closed = False

    def forget_seeks(self, partitions: Iterable[ck.TopicPartition]) -> None:
        for tp in partitions:
            self._sought.pop(_ours(tp), None)

    def on_commit(self, error: ck.KafkaError | None, partitions: list[ck.TopicPartition]) -> None:
        """librdkafka's commit report (``on_commit``), served inside poll."""
        done = frozenset((tp.topic, tp.partition, tp.offset) for tp in partitions)
        for index, (sent, callback) in enumerate(self._commits):
            if sent == done:
                del self._commits[index]
                offsets = {_ours(tp): tp.offset for tp in partitions}
                failure = error_for(error, "commit") if error is not None else None
                if failure is None:
                    failed = next((tp.error for tp in partitions if tp.error), None)
                    failure = error_for(failed, "commit") if failed is not None else None
                callback(offsets, failure)
                return

    def subscribe(self, topics: Sequence[str], listener: RebalanceListener | None = None) -> None:
        rebalance = _Rebalance(self, listener)
        self._manual = None
        with kafka_errors("subscribe"):
            self._consumer.subscribe(
                list(topics),
                on_assign=rebalance.assigned,
                on_revoke=rebalance.revoked,
                on_lost=rebalance.lost,
            )

    def unsubscribe(self) -> None:
        with kafka_errors("unsubscribe"):
            self._consumer.unsubscribe()

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        # Without a group there is no committed offset to ask for (asking would be a
        # FindCoordinator the ACLs refuse): start where auto.offset.reset says.
        if self._group_id is None:
            start = ck.OFFSET_BEGINNING
            if self._options.auto_offset_reset == "latest":
                start = ck.OFFSET_END
        else:
            start = ck.OFFSET_STORED
        if self._manual is not None and not self._unapplied:
            with kafka_errors("unassign"):  # the previous partitions stop fetching now
                self._consumer.unassign()
        self._manual = dict.fromkeys(partitions, start)
        self._paused = set()
        self._sought = {}
        self._unapplied = True

    def _apply_assignment(self) -> None:
        """Hand a manual assignment made since the last poll to librdkafka."""
        if self._unapplied:
            self._assign_manual()
            self._unapplied = False

    def _assign_manual(self) -> None:
        assert self._manual is not None
        with kafka_errors("assign"):
            self._consumer.assign([_native(tp, o) for tp, o in self._manual.items()])
            if self._paused:  # a fresh assignment fetches every partition
                self._consumer.pause([_native(tp) for tp in self._paused])

    def assignment(self) -> frozenset[TopicPartition]:
        if self._manual is not None and self._unapplied:
            return frozenset(self._manual)
        with kafka_errors("assignment"):
            return frozenset(_ours(tp) for tp in self._consumer.assignment())

    def topics(self) -> frozenset[str]:
        with kafka_errors("list topics"):
            metadata = self._consumer.list_topics(timeout=30)
        return frozenset(name for name, t in metadata.topics.items() if t.error is None)

    def partitions_for_topic(self, topic: str) -> frozenset[int]:
        with kafka_errors(f"metadata of {topic}"):
            metadata = self._consumer.list_topics(topic, timeout=30)
        described = metadata.topics.get(topic)
        if described is None or described.error is not None:
            return frozenset()
        return frozenset(described.partitions)

    def poll(
        self, timeout_s: float, max_records: int | None = None
    ) -> dict[TopicPartition, list[Record]]:
        limit = max_records or self._max_records
        self._apply_assignment()
        with kafka_errors("poll"):
            # consume(n, t) waits for n records or t: take what is there, wait only for one.
            messages = self._consumer.consume(limit, 0)
            if not messages and timeout_s > 0:
                messages = self._consumer.consume(1, timeout_s)
                if messages and limit > 1:
                    messages += self._consumer.consume(limit - 1, 0)
        polled: dict[TopicPartition, list[Record]] = {}
        for message in messages:
            error = message.error()
            if error is not None:
                topic = message.topic()
                self._poll_error(error, f"poll {topic}" if topic else "poll")
                continue
            record = _record(message)
            polled.setdefault(record.tp, []).append(record)
        return polled

    def _poll_error(self, error: ck.KafkaError, action: str) -> None:
        """A fetch error: refusals and unknown errors are raised; a broker away or a
        partition end is librdkafka's to retry (kafka-python's poll stays quiet too)."""
        mapped = error_for(error, action)
        if self._group_id is None and error.code() == E.GROUP_AUTHORIZATION_FAILED:
            # librdkafka needs a group id even without a group and looks its coordinator
            # up; the ACLs refuse that placeholder group, which this consumer never uses.
            log.debug("%s: placeholder group refused", action)
            return
        if error.code() == E._PARTITION_EOF or (
            isinstance(mapped, BrokerUnavailable) and not error.fatal()
        ):
            log.debug("poll: %s", error.name())
            return
        raise mapped

    def pause(self, partitions: Collection[TopicPartition]) -> None:
        if not partitions:
            return
        if self._manual is not None:
            self._paused.update(tp for tp in partitions if tp in self._manual)
            if self._unapplied:
                return  # paused when the assignment is handed over
        with kafka_errors("pause"):
            self._consumer.pause([_native(tp) for tp in partitions])

    def resume(self, partitions: Collection[TopicPartition]) -> None:
        # No parked read-ahead to drop: librdkafka fetches a resumed partition again.
        if not partitions:
            return
        self._paused.difference_update(partitions)
        if self._manual is not None and self._unapplied:
            return
        with kafka_errors("resume"):
            self._consumer.resume([_native(tp) for tp in partitions])

    def seek(self, partition: TopicPartition, offset: int) -> None:
        if offset >= 0:
            self._sought[partition] = offset
        else:  # to the beginning or the end: resolved by ``position`` or the fetch
            self._sought.pop(partition, None)
        manual = self._manual is not None and partition in self._manual
        if manual:
            assert self._manual is not None
            self._manual[partition] = offset
            if self._unapplied:
                return  # fetching starts there
        with kafka_errors(f"seek {partition.topic}[{partition.partition}]"):
            try:
                self._consumer.seek(_native(partition, offset))
            except ck.KafkaException as exc:
                # A partition whose fetch has not started yet (its start offset still
                # being looked up) cannot be sought (_STATE): assign again, this one at
                # the offset, the others where they are.
                error = _kafka_error(exc)
                if not manual or error is None or error.code() != E._STATE:
                    raise
                self._reassign_at_positions(sought=partition)

    def _reassign_at_positions(self, sought: TopicPartition) -> None:
        """Assign the manual partitions again: ``sought`` at its new start, the others at
        their positions (where they started, if nothing was read yet)."""
        assert self._manual is not None
        with kafka_errors("position"):
            for found in self._consumer.position([_native(tp) for tp in self._manual]):
                tp = _ours(found)
                if found.offset >= 0 and tp != sought:
                    self._manual[tp] = int(found.offset)
        self._assign_manual()

    def seek_to_beginning(self, partitions: Collection[TopicPartition]) -> None:
        for tp in partitions:
            self.seek(tp, ck.OFFSET_BEGINNING)

    def seek_to_end(self, partitions: Collection[TopicPartition]) -> None:
        for tp in partitions:
            self.seek(tp, ck.OFFSET_END)

    def position(self, partition: TopicPartition) -> int:
        if self._manual is None or not self._unapplied:
            with kafka_errors(f"position of {partition.topic}[{partition.partition}]"):
                (found,) = self._consumer.position([_native(partition)])
            if found.offset >= 0:
                return int(found.offset)
        return self._start(partition)

    def _start(self, partition: TopicPartition) -> int:
        """Where reading ``partition`` starts, nothing being read yet (librdkafka knows a
        position only once it returned a record): where it was sought, else committed,
        else by the reset policy. A start at the beginning or the end of a manual
        assignment not yet handed over is resolved once and kept, as kafka-python's
        ``position`` does: a reader that takes the end and then asks for replies reads
        every reply written after that moment."""
        if partition in self._sought:
            return self._sought[partition]
        start = self._manual.get(partition) if self._manual is not None else None
        if start is None or start == ck.OFFSET_STORED:
            committed = self.committed(partition)
            if committed is not None:
                return committed
            earliest = self._options.auto_offset_reset == "earliest"
            start = ck.OFFSET_BEGINNING if earliest else ck.OFFSET_END
        low, high = self._watermarks(partition)
        offset = low if start == ck.OFFSET_BEGINNING else high
        if self._manual is not None and self._unapplied and partition in self._manual:
            self._manual[partition] = self._sought[partition] = offset
        return offset

    def highwater(self, partition: TopicPartition) -> int | None:
        with kafka_errors("highwater"):
            _low, high = self._consumer.get_watermark_offsets(_native(partition), cached=True)
        return None if high is None or high < 0 else int(high)

    def committed(self, partition: TopicPartition) -> int | None:
        if self._group_id is None:  # no group: nothing was ever committed
            return None
        with kafka_errors(f"committed offset of {partition.topic}[{partition.partition}]"):
            (found,) = self._consumer.committed([_native(partition)], timeout=30)
        _raise_if(found.error, "committed offset")
        return int(found.offset) if found.offset >= 0 else None

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        if not offsets:
            return
        native = [_native(tp, o) for tp, o in offsets.items()]
        with kafka_errors("commit"):
            result = self._consumer.commit(offsets=native, asynchronous=False)
        for tp in result or ():
            _raise_if(tp.error, f"commit {tp.topic}[{tp.partition}]")

    def commit_async(self, offsets: Mapping[TopicPartition, int], callback: CommitCallback) -> None:
        if not offsets:
            return
        native = [_native(tp, o) for tp, o in offsets.items()]
        key = frozenset((tp.topic, tp.partition, tp.offset) for tp in native)
        self._commits.append((key, callback))
        try:
            with kafka_errors("commit"):
                self._consumer.commit(offsets=native, asynchronous=True)
        except HxError:
            self._commits.pop()
            raise

    def group_metadata(self) -> GroupMetadata:
        with kafka_errors("group metadata"):
            native = self._consumer.consumer_group_metadata()
        return GroupMetadata(self._group_id or "", native)

    def _watermarks(self, partition: TopicPartition) -> tuple[int, int]:
        with kafka_errors(f"offsets of {partition.topic}[{partition.partition}]"):
            low, high = self._consumer.get_watermark_offsets(
                _native(partition), timeout=30, cached=False
            )
        return int(low), int(high)

    def beginning_offsets(
        self, partitions: Collection[TopicPartition]
    ) -> dict[TopicPartition, int]:
        return {tp: self._watermarks(tp)[0] for tp in partitions}

    def end_offsets(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int]:
        # The ListOffsets request carries isolation.level=read_committed: the last stable offset.
        return {tp: self._watermarks(tp)[1] for tp in partitions}

    def offsets_for_times(
        self, timestamps: Mapping[TopicPartition, int]
    ) -> dict[TopicPartition, int | None]:
        if not timestamps:
            return {}
        native = [_native(tp, ts) for tp, ts in timestamps.items()]
        with kafka_errors("offsets for times"):
            found = self._consumer.offsets_for_times(native, timeout=30)
        result: dict[TopicPartition, int | None] = {}
        for tp in found:
            _raise_if(tp.error, "offsets for times")
            result[_ours(tp)] = int(tp.offset) if tp.offset >= 0 else None
        return result

    def close(self) -> None:
        """Leave the group (a rebalance's revoke runs, committing nothing by itself)."""
        if self._closed:
            return
        self._closed = True
        with kafka_errors("close consumer"):
            self._consumer.close()


def open_consumer(settings: Settings, options: ConsumerOptions) -> Consumer:
    """A connected consumer (manual commits, ``read_committed``); one per thread."""
    connection = _Connection()
    config = consumer_config(settings, options, connection)
    holder: list[LibrdkafkaConsumer] = []
    config["on_commit"] = lambda error, partitions: (
        holder[0].on_commit(error, partitions) if holder else None
    )
    native = _opened(
        lambda: ck.Consumer(config),
        connection,
        settings,
        "connect consumer",
        options.bootstrap_timeout_ms,
    )
    consumer = LibrdkafkaConsumer(native, options)
    holder.append(consumer)
    return consumer


# -- admin -------------------------------------------------------------------------------------


def _results(futures: Mapping[Any, Any] | Sequence[Any], action: str) -> list[BrokerError]:
    """Wait for every future of an admin call; the errors, mapped, of those that failed."""
    failures: list[BrokerError] = []
    items = futures.values() if isinstance(futures, Mapping) else futures
    for future in items:
        try:
            future.result()
        except ck.KafkaException as exc:
            error = _kafka_error(exc)
            failure = error_for(error, action) if error else BrokerError(f"{action}: {exc}")
            failure.__cause__ = exc
            failures.append(failure)
    return failures


def _raise_first(failures: Sequence[BrokerError], action: str) -> None:
    if not failures:
        return
    if any(isinstance(f, NotAuthorized) for f in failures):
        raise next(f for f in failures if isinstance(f, NotAuthorized))
    if len(failures) == 1:
        raise failures[0]
    shown = "; ".join(str(f) for f in failures[:3])
    raise BrokerError(f"{action}: {len(failures)} failed: {shown}")


def _acl_from(binding: Any) -> AclBinding:
    return AclBinding(
        principal=binding.principal,
        host=binding.host,
        operation=binding.operation.name,
        permission=binding.permission_type.name,
        resource_type=binding.restype.name,
        resource_name=binding.name,
        pattern_type=binding.resource_pattern_type.name,
    )


def _acl_to(acl: AclBinding) -> ck_admin.AclBinding:
    return ck_admin.AclBinding(*_acl_fields(acl))


def _acl_filter(acl: AclBinding) -> ck_admin.AclBindingFilter:
    """The filter matching exactly ``acl`` (every field given, none a wildcard)."""
    return ck_admin.AclBindingFilter(*_acl_fields(acl))


def _acl_fields(
    acl: AclBinding,
) -> tuple[
    ck_admin.ResourceType,
    str,
    ck_admin.ResourcePatternType,
    str,
    str,
    ck_admin.AclOperation,
    ck_admin.AclPermissionType,
]:
    """``acl`` as the positional arguments of confluent-kafka's AclBinding and its filter."""
    return (
        ck_admin.ResourceType[acl.resource_type],
        acl.resource_name,
        ck_admin.ResourcePatternType[acl.pattern_type],
        acl.principal,
        acl.host,
        ck_admin.AclOperation[acl.operation],
        ck_admin.AclPermissionType[acl.permission],
    )


def _mechanism(name: str) -> ck_admin.ScramMechanism:
    return ck_admin.ScramMechanism[name.replace("-", "_")]


class LibrdkafkaAdmin:
    """``runtime.kafka.protocols.Admin`` on confluent-kafka's ``AdminClient``."""

    def __init__(
        self, admin: ck_admin.AdminClient, options: AdminOptions, settings: Settings
    ) -> None:
        self._admin = admin
        self._settings = settings
        self._timeout_s = (options.request_timeout_ms or 30_000) / 1000

    def describe_cluster(self) -> tuple[BrokerNode, ...]:
        with kafka_errors("describe cluster"):
            cluster = self._admin.describe_cluster(request_timeout=self._timeout_s).result()
        return tuple(BrokerNode(n.id, n.host, n.port) for n in cluster.nodes)

    def _metadata(self) -> Any:
        with kafka_errors("list topics"):
            return self._admin.list_topics(timeout=self._timeout_s)

    def list_topics(self) -> frozenset[str]:
        return frozenset(name for name, t in self._metadata().topics.items() if t.error is None)

    def describe_topics(self, names: Sequence[str]) -> dict[str, TopicDescription]:
        topics = dict(self._metadata().topics)
        for name in names:
            if name not in topics:
                # The full listing leaves out what this user may not describe: ask for the
                # topic by name to hear whether it is unknown or refused.
                with kafka_errors(f"describe topic {name}"):
                    found = self._admin.list_topics(name, timeout=self._timeout_s).topics
                topics.update(found)
        described: dict[str, TopicDescription] = {}
        for name in names:
            topic = topics.get(name)
            if topic is None or (
                topic.error is not None and topic.error.code() == E.UNKNOWN_TOPIC_OR_PART
            ):
                continue
            _raise_if(topic.error, f"describe topic {name}")
            partitions = tuple(
                PartitionDescription(p.id, p.leader, tuple(p.replicas), tuple(p.isrs))
                for p in sorted(topic.partitions.values(), key=lambda p: p.id)
            )
            described[name] = TopicDescription(name, partitions)
        return described

    def describe_topic_configs(
        self, names: Sequence[str], keys: Sequence[str]
    ) -> dict[str, dict[str, str | None]]:
        if not names:
            return {}
        resources = [ck_admin.ConfigResource(ck_admin.ResourceType.TOPIC, n) for n in names]
        configs: dict[str, dict[str, str | None]] = {}
        with kafka_errors("describe topic configs"):
            futures = self._admin.describe_configs(resources, request_timeout=self._timeout_s)
            for resource, future in futures.items():
                entries = future.result()
                configs[resource.name] = {
                    key: (entries[key].value if key in entries else None) for key in keys
                }
        return configs

    def create_topics(self, topics: Sequence[NewTopic], timeout_s: float = 30.0) -> None:
        if not topics:
            return
        native = [
            ck_admin.NewTopic(t.name, t.partitions, t.replication, config=dict(t.configs))
            for t in topics
        ]
        with kafka_errors("create topics"):
            futures = self._admin.create_topics(
                native, operation_timeout=timeout_s, request_timeout=timeout_s
            )
        failures = [
            f for f in _results(futures, "create topics") if _code(f) != E.TOPIC_ALREADY_EXISTS
        ]
        _raise_first(failures, "create topics")
        self._await_topics({t.name: t.partitions for t in topics}, timeout_s)

    def _await_topics(self, wanted: Mapping[str, int], timeout_s: float) -> None:
        """Until the metadata shows every topic with a leader for each partition."""
        deadline = time.monotonic() + timeout_s
        while True:
            topics = self._metadata().topics
            if all(
                (t := topics.get(name)) is not None
                and t.error is None
                and len(t.partitions) >= count
                and all(p.leader >= 0 for p in t.partitions.values())
                for name, count in wanted.items()
            ):
                return
            if time.monotonic() >= deadline:
                raise BrokerUnavailable(
                    f"create topics: {', '.join(sorted(wanted))} not served within {timeout_s:g} s"
                )
            time.sleep(0.1)

    def delete_topics(self, names: Sequence[str]) -> None:
        if not names:
            return
        with kafka_errors("delete topics"):
            futures = self._admin.delete_topics(
                list(names), operation_timeout=self._timeout_s, request_timeout=self._timeout_s
            )
        failures = [
            f for f in _results(futures, "delete topics") if _code(f) != E.UNKNOWN_TOPIC_OR_PART
        ]
        _raise_first(failures, "delete topics")

    def create_partitions(self, topic: str, total: int) -> None:
        with kafka_errors(f"add partitions to {topic}"):
            futures = self._admin.create_partitions(
                [ck_admin.NewPartitions(topic, total)], request_timeout=self._timeout_s
            )
        _raise_first(_results(futures, f"add partitions to {topic}"), f"add partitions to {topic}")

    def alter_topic_configs(self, topic: str, configs: Mapping[str, str]) -> None:
        entries = [
            ck_admin.ConfigEntry(key, value, incremental_operation=ck_admin.AlterConfigOpType.SET)
            for key, value in configs.items()
        ]
        resource = ck_admin.ConfigResource(
            ck_admin.ResourceType.TOPIC, topic, incremental_configs=entries
        )
        with kafka_errors(f"alter config of {topic}"):
            futures = self._admin.incremental_alter_configs(
                [resource], request_timeout=self._timeout_s
            )
        _raise_first(_results(futures, f"alter config of {topic}"), f"alter config of {topic}")

    def describe_acls(self) -> tuple[AclBinding, ...] | None:
        anything: Any = None  # a filter's None matches any name, principal, host
        any_filter = ck_admin.AclBindingFilter(
            ck_admin.ResourceType.ANY,
            anything,
            ck_admin.ResourcePatternType.ANY,
            anything,
            anything,
            ck_admin.AclOperation.ANY,
            ck_admin.AclPermissionType.ANY,
        )
        try:
            with kafka_errors("describe ACLs"):
                found = self._admin.describe_acls(
                    any_filter, request_timeout=self._timeout_s
                ).result()
        except BrokerError as exc:
            if _code(exc) == E.SECURITY_DISABLED:
                return None
            raise
        if not found and acls_disabled(self._settings):
            # librdkafka 2.16.0 answers "no authorizer" (SECURITY_DISABLED) with an empty
            # list, as it answers "no ACL yet": the broker is asked itself. Only a client
            # without a login can meet such a broker (hxbus's secured brokers want SASL).
            return None
        return tuple(sorted(_acl_from(b) for b in found))

    def create_acls(self, acls: Sequence[AclBinding]) -> None:
        if not acls:
            return
        with kafka_errors("create ACLs"):
            futures = self._admin.create_acls(
                [_acl_to(a) for a in acls], request_timeout=self._timeout_s
            )
        _raise_first(_results(futures, "create ACLs"), "create ACLs")

    def delete_acls(self, acls: Sequence[AclBinding]) -> None:
        if not acls:
            return
        with kafka_errors("revoke ACLs"):
            futures = self._admin.delete_acls(
                [_acl_filter(a) for a in acls], request_timeout=self._timeout_s
            )
        _raise_first(_results(futures, "revoke ACLs"), "revoke ACLs")

    def scram_users(self, mechanism: str) -> frozenset[str]:
        wanted = _mechanism(mechanism)
        with kafka_errors("describe SCRAM users"):
            # Without a user list the call answers with one future for all users.
            future: Any = self._admin.describe_user_scram_credentials(
                request_timeout=self._timeout_s
            )
            described = future.result()
        return frozenset(
            user
            for user, description in described.items()
            if any(i.mechanism == wanted for i in description.scram_credential_infos)
        )

    def alter_scram_users(
        self, mechanism: str, upserts: Mapping[str, str], deletions: Sequence[str]
    ) -> None:
        if not upserts and not deletions:
            return
        wanted = _mechanism(mechanism)
        changes: list[Any] = [
            ck_admin.UserScramCredentialUpsertion(
                user, ck_admin.ScramCredentialInfo(wanted, SCRAM_ITERATIONS), password.encode()
            )
            for user, password in upserts.items()
        ]
        changes += [ck_admin.UserScramCredentialDeletion(user, wanted) for user in deletions]
        with kafka_errors("write SCRAM credentials"):
            futures = self._admin.alter_user_scram_credentials(
                changes, request_timeout=self._timeout_s
            )
        failed = []
        for user, future in futures.items():
            try:
                future.result()
            except ck.KafkaException as exc:
                error = _kafka_error(exc)
                failed.append(f"{user} ({error.name() if error else exc})")
        if failed:
            raise BrokerError(f"write SCRAM credentials: not written for {', '.join(failed)}")

    def committed_offsets(
        self, group: str, partitions: Sequence[TopicPartition], timeout_s: float = 30.0
    ) -> dict[TopicPartition, int | None]:
        request = [ck.ConsumerGroupTopicPartitions(group, [_native(tp) for tp in partitions])]
        deadline = time.monotonic() + timeout_s
        action = f"read the committed offsets of group {group}"
        while True:
            try:
                with kafka_errors(action):
                    futures = self._admin.list_consumer_group_offsets(
                        request, request_timeout=self._timeout_s
                    )
                    found = futures[group].result()
                return {
                    _ours(tp): (int(tp.offset) if tp.offset >= 0 else None)
                    for tp in found.topic_partitions
                }
            except BrokerError as exc:
                if not exc.retriable or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def close(self) -> None:
        close = getattr(self._admin, "close", None)  # AdminClient has none before 2.12
        if callable(close):
            with kafka_errors("close admin client"):
                close()


def _code(exc: BaseException) -> int | None:
    cause = exc.__cause__ if isinstance(exc, HxError) else exc
    error = _kafka_error(cause) if cause is not None else None
    return error.code() if error is not None else None


def open_admin(settings: Settings, options: AdminOptions) -> Admin:
    """A connected admin client; the caller closes it."""
    connection = _Connection()
    config = _common_config(settings, connection)
    if options.request_timeout_ms is not None:
        config["socket.timeout.ms"] = options.request_timeout_ms
    admin = _opened(
        lambda: ck_admin.AdminClient(config),
        connection,
        settings,
        "connect admin client",
        options.bootstrap_timeout_ms,
    )
    return LibrdkafkaAdmin(admin, options, settings)
