"""The librdkafka admin client: ``runtime.kafka.protocols.Admin`` on confluent-kafka's
``AdminClient``."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import confluent_kafka as ck
from confluent_kafka import admin as ck_admin

from runtime.kafka.broker_probe import acls_disabled
from runtime.kafka.librdkafka_connection import (
    Connection,
    common_config,
    native_tp,
    opened,
    ours_tp,
)
from runtime.kafka.librdkafka_errors import (
    E,
    error_code,
    error_for,
    kafka_error_of,
    kafka_errors,
    raise_if,
)
from runtime.kafka.options import AdminOptions
from runtime.kafka.protocols import (
    Admin,
)
from runtime.kafka.records import (
    AclBinding,
    BrokerNode,
    NewTopic,
    PartitionDescription,
    TopicDescription,
    TopicPartition,
)
from runtime.settings import Settings
from schemas.errors import BrokerError, BrokerUnavailable, NotAuthorized

#: Iterations of a SCRAM credential written by ``alter_scram_users`` (Kafka's minimum).
SCRAM_ITERATIONS = 4096


def _results(futures: Mapping[Any, Any] | Sequence[Any], action: str) -> list[BrokerError]:
    """Wait for every future of an admin call; the errors, mapped, of those that failed."""
    failures: list[BrokerError] = []
    items = futures.values() if isinstance(futures, Mapping) else futures
    for future in items:
        try:
            future.result()
        except ck.KafkaException as exc:
            error = kafka_error_of(exc)
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
            raise_if(topic.error, f"describe topic {name}")
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
            f for f in _results(futures, "create topics") if error_code(f) != E.TOPIC_ALREADY_EXISTS
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
            f
            for f in _results(futures, "delete topics")
            if error_code(f) != E.UNKNOWN_TOPIC_OR_PART
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
            if error_code(exc) == E.SECURITY_DISABLED:
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
                error = kafka_error_of(exc)
                failed.append(f"{user} ({error.name() if error else exc})")
        if failed:
            raise BrokerError(f"write SCRAM credentials: not written for {', '.join(failed)}")

    def committed_offsets(
        self, group: str, partitions: Sequence[TopicPartition], timeout_s: float = 30.0
    ) -> dict[TopicPartition, int | None]:
        request = [ck.ConsumerGroupTopicPartitions(group, [native_tp(tp) for tp in partitions])]
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
                    ours_tp(tp): (int(tp.offset) if tp.offset >= 0 else None)
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


def open_admin(settings: Settings, options: AdminOptions) -> Admin:
    """A connected admin client; the caller closes it."""
    connection = Connection()
    config = common_config(settings, connection)
    if options.request_timeout_ms is not None:
        config["socket.timeout.ms"] = options.request_timeout_ms
    admin = opened(
        lambda: ck_admin.AdminClient(config),
        connection,
        settings,
        "connect admin client",
        options.bootstrap_timeout_ms,
    )
    return LibrdkafkaAdmin(admin, options, settings)
