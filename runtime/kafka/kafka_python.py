"""The kafka-python transport (the default): ``runtime.kafka.protocols`` on kafka-python 3.

Checked on kafka-python 3.0.12. Every client call runs inside ``kafka_errors`` so what
leaves is ours. The private parts of kafka-python this transport still needs, each
with a test in tests/unit/test_kafka_private_parts.py that fails when it disappears:

- ``KafkaProducer._sender.force_close()`` (``KafkaPythonProducer.force_close``): the
  public ``close()`` flushes first, and a wedged producer never finishes that;
- ``Fetcher._paused_partition_records`` (``runtime.kafka.parked_fetches``): records
  parked for a paused partition keep it unfetched for good after a resume;
- the internal ``kafka.net`` / ``kafka.protocol`` modules (``runtime.kafka.login_probe``):
  kafka-python drops a refused login's answer unread;
- the refusal travelling as a log record's argument (``_LoginRefusals``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import kafka.errors as kafka_error
import structlog
from kafka import AsyncConsumerRebalanceListener, KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTopicPartition
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ConfigResource,
    ConfigResourceType,
    KafkaAdminClient,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)
from kafka.structs import OffsetAndMetadata

from runtime.kafka.broker_probe import sasl_wanted, tls_refusal
from runtime.kafka.errors import kafka_errors, mapped, raise_for_error_code
from runtime.kafka.login_probe import login_refusal
from runtime.kafka.options import AdminOptions, ConsumerOptions, ProducerOptions
from runtime.kafka.parked_fetches import drop_parked_records
from runtime.kafka.protocols import CommitCallback, RebalanceListener
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
from schemas.errors import BrokerError, BrokerUnavailable, NotAuthorized

log = structlog.get_logger("hxbus.consumer")

#: Longest wait between two attempts to reach a broker that went away (the Java client's
#: default). kafka-python 3 doubles its wait after every failure up to 30 s: a client that
#: outlived a 15-20 s outage then sat idle for up to ~25 s more while the broker answered
#: again — a producer's events expired unsent (``KafkaTimeoutError``), a bridge delivered
#: nothing. One connection attempt a second to an absent broker costs nothing.
RECONNECT_BACKOFF_MAX_MS = 1_000
#: Broker error codes provisioning tolerates or skips.
_TOPIC_EXISTS = 36
_UNKNOWN_TOPIC = 3


# -- configuration -------------------------------------------------------------------------


def _common_config(settings: Settings) -> dict[str, Any]:
    return {
        "bootstrap_servers": settings.bootstrap.split(","),
        "client_id": settings.client_id,
        "reconnect_backoff_max_ms": RECONNECT_BACKOFF_MAX_MS,
        **settings.kafka_security(),
    }


def _set(config: dict[str, Any], **values: object) -> dict[str, Any]:
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
        **_common_config(settings),
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": o.linger_ms,
        "max_in_flight_requests_per_connection": 5,
    }
    return _set(
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
        **_common_config(settings),
        "group_id": o.group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": o.auto_offset_reset,
        "isolation_level": "read_committed",
        "max_poll_records": o.max_poll_records,
    }
    return _set(
        config,
        session_timeout_ms=o.session_timeout_ms,
        heartbeat_interval_ms=o.heartbeat_interval_ms,
        bootstrap_timeout_ms=o.bootstrap_timeout_ms,
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


# -- conversions --------------------------------------------------------------------------


def _ktp(tp: TopicPartition) -> KafkaTopicPartition:
    return KafkaTopicPartition(tp.topic, tp.partition)


def _ours(tp: Any) -> TopicPartition:
    return TopicPartition(tp.topic, tp.partition)


def _meta(offsets: Mapping[TopicPartition, int]) -> dict[KafkaTopicPartition, Any]:
    return {_ktp(tp): OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()}


def _record(r: Any) -> Record:
    headers = r.headers
    return Record(
        r.topic,
        r.partition,
        r.offset,
        r.key,
        r.value,
        tuple((name, value or b"") for name, value in headers) if headers else (),
        r.timestamp,
    )


# -- producer ------------------------------------------------------------------------------


class _SendFuture:
    """``SendFuture`` over kafka-python's ``FutureRecordMetadata``."""

    __slots__ = ("_action", "_future")

    def __init__(self, future: Any, action: str) -> None:
        self._future = future
        self._action = action

    @property
    def is_done(self) -> bool:
        return bool(self._future.is_done)

    @property
    def error(self) -> BaseException | None:
        if not self._future.is_done or not self._future.failed():
            return None
        return mapped(self._future.exception, self._action)

    def get(self, timeout_s: float | None = None) -> RecordMetadata:
        with kafka_errors(self._action):
            metadata = self._future.get(timeout=timeout_s)
        return RecordMetadata(metadata.topic, metadata.partition, metadata.offset)


class KafkaPythonProducer:
    """``runtime.kafka.protocols.Producer`` on ``kafka.KafkaProducer``."""

    def __init__(self, producer: KafkaProducer) -> None:
        self._producer = producer

    def send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> _SendFuture:
        action = f"send to {topic}"
        with kafka_errors(action):
            future = self._producer.send(
                topic,
                value=value,
                key=key,
                headers=list(headers) if headers is not None else None,
                partition=partition,
            )
        return _SendFuture(future, f"deliver to {topic}")

    def flush(self, timeout_s: float | None = None) -> None:
        with kafka_errors("flush the producer"):
            self._producer.flush(timeout=timeout_s)

    def close(self, timeout_s: float | None = None) -> None:
        with kafka_errors("close the producer"):
            self._producer.close(timeout=timeout_s)

    def force_close(self, join_timeout_s: float = 10.0) -> None:
        """Stop the sender thread without sending; fail what it still holds.

        Private: kafka-python's ``_sender.force_close()`` (checked on 3.0.12; tested in
        test_kafka_private_parts.py). Afterwards ``close()`` returns at once (nothing is
        left to flush), so neither the caller nor kafka-python's ``__del__``/atexit hooks
        wait on records that cannot go.
        """
        sender = self._producer._sender
        sender.force_close()
        sender.join(join_timeout_s)

    def partitions_for(self, topic: str) -> frozenset[int]:
        with kafka_errors(f"find topic {topic} (is it provisioned?)"):
            return frozenset(self._producer.partitions_for(topic) or ())

    def init_transactions(self) -> None:
        with kafka_errors("init transactions"):
            self._producer.init_transactions()

    def begin_transaction(self) -> None:
        with kafka_errors("begin transaction"):
            self._producer.begin_transaction()

    def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, int], group: GroupMetadata
    ) -> None:
        native = group.native if group.native is not None else group.group_id
        with kafka_errors("send offsets to the transaction"):
            self._producer.send_offsets_to_transaction(_meta(offsets), native)

    def commit_transaction(self) -> None:
        with kafka_errors("commit transaction"):
            self._producer.commit_transaction()

    def abort_transaction(self) -> None:
        with kafka_errors("abort transaction"):
            self._producer.abort_transaction()


def open_producer(settings: Settings, options: ProducerOptions) -> KafkaPythonProducer:
    """A connected producer built from :func:`producer_config`."""
    with _connecting(settings, "connect producer"):
        return KafkaPythonProducer(KafkaProducer(**producer_config(settings, options)))


# -- consumer ------------------------------------------------------------------------------


class _Listener(AsyncConsumerRebalanceListener):  # type: ignore[misc]
    """Our ``RebalanceListener`` under kafka-python's.

    kafka-python 3 runs listeners on its IO thread, where a blocking ``commit`` is
    refused: the offsets ``on_revoked`` returns are committed by awaiting
    ``commit_async`` instead.
    """

    def __init__(self, listener: RebalanceListener, consumer: KafkaConsumer) -> None:
        self._listener = listener
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[Any]) -> None:
        offsets = self._listener.on_revoked(frozenset(_ours(tp) for tp in revoked))
        if not offsets:
            return
        try:
            await self._consumer.commit_async(_meta(offsets))
        except Exception as exc:  # the dedupe store and the sink absorb the redelivery
            log.warning("commit_on_revoke_failed", partitions=len(offsets), error=str(exc))

    async def on_partitions_assigned(self, assigned: set[Any]) -> None:
        self._listener.on_assigned(frozenset(_ours(tp) for tp in assigned))

    async def on_partitions_lost(self, lost: set[Any]) -> None:
        self._listener.on_lost(frozenset(_ours(tp) for tp in lost))


class KafkaPythonConsumer:
    """``runtime.kafka.protocols.Consumer`` on ``kafka.KafkaConsumer``."""

    def __init__(self, consumer: KafkaConsumer, group_id: str | None) -> None:
        self._consumer = consumer
        self._group_id = group_id
        #: What ``poll`` reads, for its errors ("read hx.inbox.X: TopicAuthorization...").
        self._reading = "poll"

    def subscribe(self, topics: Sequence[str], listener: RebalanceListener | None = None) -> None:
        wrapped = _Listener(listener, self._consumer) if listener is not None else None
        self._reading = f"read {', '.join(topics)}"
        with kafka_errors("subscribe"):
            self._consumer.subscribe(list(topics), listener=wrapped)

    def unsubscribe(self) -> None:
        with kafka_errors("unsubscribe"):
            self._consumer.unsubscribe()

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        assigned = [_ktp(tp) for tp in partitions]
        self._reading = f"read {', '.join(sorted({tp.topic for tp in assigned}))}"
        with kafka_errors("assign partitions"):
            self._consumer.assign(assigned)

    def assignment(self) -> frozenset[TopicPartition]:
        return frozenset(_ours(tp) for tp in self._consumer.assignment())

    def topics(self) -> frozenset[str]:
        with kafka_errors("list topics"):
            return frozenset(self._consumer.topics())

    def partitions_for_topic(self, topic: str) -> frozenset[int]:
        with kafka_errors(f"find the partitions of {topic}"):
            return frozenset(self._consumer.partitions_for_topic(topic) or ())

    def poll(
        self, timeout_s: float, max_records: int | None = None
    ) -> dict[TopicPartition, list[Record]]:
        with kafka_errors(self._reading):
            polled = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        return {
            TopicPartition(tp.topic, tp.partition): [_record(r) for r in records]
            for tp, records in polled.items()
        }

    def pause(self, partitions: Collection[TopicPartition]) -> None:
        self._consumer.pause(*(_ktp(tp) for tp in partitions))

    def resume(self, partitions: Collection[TopicPartition]) -> None:
        resumed = [_ktp(tp) for tp in partitions]
        self._consumer.resume(*resumed)
        # Else a read-ahead parked while paused keeps the partition unfetched for good.
        drop_parked_records(self._consumer, resumed)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        with kafka_errors("seek"):
            self._consumer.seek(_ktp(partition), offset)

    def seek_to_beginning(self, partitions: Collection[TopicPartition]) -> None:
        with kafka_errors("seek to the beginning"):
            self._consumer.seek_to_beginning(*(_ktp(tp) for tp in partitions))

    def seek_to_end(self, partitions: Collection[TopicPartition]) -> None:
        with kafka_errors("seek to the end"):
            self._consumer.seek_to_end(*(_ktp(tp) for tp in partitions))

    def position(self, partition: TopicPartition) -> int:
        with kafka_errors("read position"):
            return int(self._consumer.position(_ktp(partition)))

    def highwater(self, partition: TopicPartition) -> int | None:
        with kafka_errors("read high watermark"):
            value = self._consumer.highwater(_ktp(partition))
        return None if value is None else int(value)

    def committed(self, partition: TopicPartition) -> int | None:
        with kafka_errors("read committed offset"):
            value = self._consumer.committed(_ktp(partition))
        return None if value is None else int(value)

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        with kafka_errors("commit offsets"):
            self._consumer.commit(_meta(offsets))

    def commit_async(self, offsets: Mapping[TopicPartition, int], callback: CommitCallback) -> None:
        def answered(sent: Mapping[Any, Any], result: Any) -> None:
            positions = {_ours(tp): meta.offset for tp, meta in sent.items()}
            error = mapped(result, "commit offsets") if isinstance(result, BaseException) else None
            callback(positions, error)

        with kafka_errors("commit offsets"):
            self._consumer.commit_async(_meta(offsets), callback=answered)

    def group_metadata(self) -> GroupMetadata:
        with kafka_errors("read group metadata"):
            native = self._consumer.group_metadata()
        return GroupMetadata(self._group_id or "", native)

    def beginning_offsets(
        self, partitions: Collection[TopicPartition]
    ) -> dict[TopicPartition, int]:
        with kafka_errors(f"read the first offsets of {len(partitions)} partitions"):
            found = self._consumer.beginning_offsets([_ktp(tp) for tp in partitions])
        return {_ours(tp): int(offset) for tp, offset in found.items()}

    def end_offsets(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int]:
        with kafka_errors(f"read the end offsets of {len(partitions)} partitions"):
            found = self._consumer.end_offsets([_ktp(tp) for tp in partitions])
        return {_ours(tp): int(offset) for tp, offset in found.items()}

    def offsets_for_times(
        self, timestamps: Mapping[TopicPartition, int]
    ) -> dict[TopicPartition, int | None]:
        with kafka_errors("find offsets by time"):
            found = self._consumer.offsets_for_times(
                {_ktp(tp): stamp for tp, stamp in timestamps.items()}
            )
        return {_ours(tp): None if at is None else int(at.offset) for tp, at in found.items()}

    def close(self) -> None:
        with kafka_errors("close consumer"):
            self._consumer.close(autocommit=False)


def open_consumer(settings: Settings, options: ConsumerOptions) -> KafkaPythonConsumer:
    """A connected consumer built from :func:`consumer_config`, one per thread."""
    with _connecting(settings, "connect consumer"):
        return KafkaPythonConsumer(
            KafkaConsumer(**consumer_config(settings, options)), options.group_id
        )


# -- admin ---------------------------------------------------------------------------------


def _acl(binding: AclBinding, acl_type: Any = ACL, pattern_type: Any = ResourcePattern) -> Any:
    """``binding`` as kafka-python's ACL (or, given ACLFilter and ResourcePatternFilter, the
    filter matching exactly it)."""
    return acl_type(
        principal=binding.principal,
        host=binding.host,
        operation=ACLOperation[binding.operation],
        permission_type=ACLPermissionType[binding.permission],
        resource_pattern=pattern_type(
            ResourceType[binding.resource_type],
            binding.resource_name,
            ACLResourcePatternType[binding.pattern_type],
        ),
    )


def _binding(acl: Any) -> AclBinding:
    pattern = acl.resource_pattern
    return AclBinding(
        principal=acl.principal,
        host=acl.host,
        operation=ACLOperation(acl.operation).name,
        permission=ACLPermissionType(acl.permission_type).name,
        resource_type=ResourceType(pattern.resource_type).name,
        resource_name=pattern.resource_name,
        pattern_type=ACLResourcePatternType(pattern.pattern_type).name,
    )


def _exact_filter(binding: AclBinding) -> Any:
    return _acl(binding, ACLFilter, ResourcePatternFilter)


def _topic_config_resource(topic: str, configs: Mapping[str, str] | Sequence[str]) -> Any:
    value = dict(configs) if isinstance(configs, Mapping) else list(configs)
    return ConfigResource(ConfigResourceType.TOPIC, topic, value)


def _scram(mechanism: str) -> ScramMechanism:
    """``SCRAM-SHA-512`` -> ``ScramMechanism.SCRAM_SHA_512``."""
    return ScramMechanism[mechanism.replace("-", "_").upper()]


class KafkaPythonAdmin:
    """``runtime.kafka.protocols.Admin`` on ``kafka.admin.KafkaAdminClient``."""

    def __init__(self, admin: KafkaAdminClient) -> None:
        self._admin = admin

    def describe_cluster(self) -> tuple[BrokerNode, ...]:
        with kafka_errors("describe cluster"):
            cluster = self._admin.describe_cluster()
        return tuple(
            BrokerNode(
                int(b["broker_id"]), str(b["host"]), int(b["port"]), bool(b.get("is_fenced"))
            )
            for b in cluster["brokers"]
        )

    def list_topics(self) -> frozenset[str]:
        with kafka_errors("list topics"):
            return frozenset(self._admin.list_topics())

    def describe_topics(self, names: Sequence[str]) -> dict[str, TopicDescription]:
        with kafka_errors("describe topics"):
            described = self._admin.describe_topics(list(names))
        topics: dict[str, TopicDescription] = {}
        for topic in described:
            if topic["error_code"] == _UNKNOWN_TOPIC:
                continue
            if topic["error_code"] != 0:
                raise_for_error_code(topic["error_code"], f"describe topic {topic['name']}")
            partitions = tuple(
                PartitionDescription(
                    int(p["partition_index"]),
                    int(p["leader_id"]),
                    tuple(int(n) for n in p["replica_nodes"]),
                    tuple(int(n) for n in p["isr_nodes"]),
                )
                for p in sorted(topic["partitions"], key=lambda p: p["partition_index"])
            )
            topics[topic["name"]] = TopicDescription(topic["name"], partitions)
        return topics

    def describe_topic_configs(
        self, names: Sequence[str], keys: Sequence[str]
    ) -> dict[str, dict[str, str | None]]:
        if not names:
            return {}
        resources = [_topic_config_resource(name, list(keys)) for name in names]
        with kafka_errors("describe topic configs"):
            configs = self._admin.describe_configs(resources, config_filter="all").get("topic", {})
        return {
            name: {key: entry["value"] for key, entry in configs.get(name, {}).items()}
            for name in names
        }

    def create_topics(self, topics: Sequence[NewTopic], timeout_s: float = 30.0) -> None:
        request = {
            t.name: {
                "num_partitions": t.partitions,
                "replication_factor": t.replication,
                "configs": dict(t.configs),
            }
            for t in topics
        }
        names = ", ".join(t.name for t in topics)
        with kafka_errors(f"create topic {names}"):
            result = self._admin.create_topics(request, raise_errors=False)
            for topic in result["topics"]:
                if topic["error_code"] not in (0, _TOPIC_EXISTS):
                    raise_for_error_code(topic["error_code"], topic.get("error_message"))
            self._admin.wait_for_topics([t.name for t in topics], timeout_ms=int(timeout_s * 1000))

    def delete_topics(self, names: Sequence[str]) -> None:
        if not names:
            return
        with kafka_errors(f"delete topics {', '.join(names)}"):
            result = self._admin.delete_topics(list(names), raise_errors=False)
        for topic in result["topics"]:
            if topic["error_code"] not in (0, _UNKNOWN_TOPIC):
                raise_for_error_code(topic["error_code"], f"delete topic {topic['name']}")

    def create_partitions(self, topic: str, total: int) -> None:
        with kafka_errors(f"add partitions to {topic}"):
            self._admin.create_partitions({topic: total})

    def alter_topic_configs(self, topic: str, configs: Mapping[str, str]) -> None:
        with kafka_errors(f"alter config of {topic}"):
            result = self._admin.alter_configs([_topic_config_resource(topic, configs)])
        outcome = result.get("topic", {}).get(topic)
        if outcome != "OK":
            raise BrokerError(f"alter config of {topic}: {outcome}")

    def describe_acls(self) -> tuple[AclBinding, ...] | None:
        any_filter = ACLFilter(
            principal=None,
            host=None,
            operation=ACLOperation.ANY,
            permission_type=ACLPermissionType.ANY,
            resource_pattern=ResourcePatternFilter(
                ResourceType.ANY, None, ACLResourcePatternType.ANY
            ),
        )
        try:
            with kafka_errors("describe ACLs"):
                acls, _error = self._admin.describe_acls(any_filter)
        except BrokerError as exc:
            if isinstance(exc.__cause__, kafka_error.SecurityDisabledError):
                return None
            raise
        return tuple(_binding(acl) for acl in acls)

    def create_acls(self, acls: Sequence[AclBinding]) -> None:
        if not acls:
            return
        with kafka_errors("create ACLs"):
            created = self._admin.create_acls([_acl(b) for b in acls])
        if created["failed"]:
            raise BrokerError(f"ACLs not created: {created['failed'][:3]}")

    def delete_acls(self, acls: Sequence[AclBinding]) -> None:
        if not acls:
            return
        with kafka_errors("revoke ACLs"):
            results = self._admin.delete_acls([_exact_filter(b) for b in acls])
        errors = [str(error) for _, _, error in results if error is not kafka_error.NoError]
        if errors:
            raise BrokerError(f"ACLs not revoked: {errors[:3]}")

    def scram_users(self, mechanism: str) -> frozenset[str]:
        wanted = _scram(mechanism)
        with kafka_errors("describe SCRAM users"):
            described = self._admin.describe_user_scram_credentials()
        return frozenset(
            user
            for user, info in described.items()
            if any(c["mechanism"] == wanted for c in info["credential_infos"])
        )

    def alter_scram_users(
        self, mechanism: str, upserts: Mapping[str, str], deletions: Sequence[str]
    ) -> None:
        scram = _scram(mechanism)
        changes: list[Any] = [
            UserScramCredentialUpsertion(user, scram, password)
            for user, password in upserts.items()
        ]
        changes += [UserScramCredentialDeletion(user, scram) for user in deletions]
        if not changes:
            return
        with kafka_errors("write SCRAM credentials"):
            results = self._admin.alter_user_scram_credentials(changes)
        failed = {user: message for user, message in results.items() if message}
        if failed:
            raise BrokerError(f"SCRAM credentials not written: {failed}")

    def committed_offsets(
        self, group: str, partitions: Sequence[TopicPartition], timeout_s: float = 30.0
    ) -> dict[TopicPartition, int | None]:
        """On a fresh broker the group coordinator (``__consumer_offsets``) is created on
        first use and answers COORDINATOR_NOT_AVAILABLE / LOAD_IN_PROGRESS for a few
        seconds: those retriable errors are retried until ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with kafka_errors(f"read the committed offsets of group {group}"):
            while True:
                try:
                    result = self._admin.list_group_offsets({group: [_ktp(p) for p in partitions]})
                    break
                except kafka_error.KafkaError as exc:
                    if not exc.retriable or time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
        found: dict[TopicPartition, int | None] = dict.fromkeys(partitions)
        for tp, meta in result.get(group, {}).items():
            offset = getattr(meta, "offset", None)
            found[_ours(tp)] = int(offset) if offset is not None and offset >= 0 else None
        return found

    def close(self) -> None:
        with kafka_errors("close admin client"):
            self._admin.close()


def open_admin(settings: Settings, options: AdminOptions) -> KafkaPythonAdmin:
    """A connected admin client; the caller closes it."""
    config = _set(
        _common_config(settings),
        bootstrap_timeout_ms=options.bootstrap_timeout_ms,
        request_timeout_ms=options.request_timeout_ms,
    )
    with _connecting(settings, "connect admin client"):
        return KafkaPythonAdmin(KafkaAdminClient(**config))
