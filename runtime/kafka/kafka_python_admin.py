"""The kafka-python admin client: ``runtime.kafka.protocols.Admin`` on ``KafkaAdminClient``."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import kafka.errors as kafka_error
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

from runtime.kafka.errors import kafka_errors, raise_for_error_code
from runtime.kafka.kafka_python_connection import (
    common_config,
    connecting,
    kafka_tp,
    ours_tp,
    set_given,
)
from runtime.kafka.options import AdminOptions
from runtime.kafka.records import (
    AclBinding,
    BrokerNode,
    NewTopic,
    PartitionDescription,
    TopicDescription,
    TopicPartition,
)
from runtime.settings import Settings
from schemas.errors import BrokerError

#: Broker error codes provisioning tolerates or skips.
_TOPIC_EXISTS = 36
_UNKNOWN_TOPIC = 3


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
                    result = self._admin.list_group_offsets(
                        {group: [kafka_tp(p) for p in partitions]}
                    )
                    break
                except kafka_error.KafkaError as exc:
                    if not exc.retriable or time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
        found: dict[TopicPartition, int | None] = dict.fromkeys(partitions)
        for tp, meta in result.get(group, {}).items():
            offset = getattr(meta, "offset", None)
            found[ours_tp(tp)] = int(offset) if offset is not None and offset >= 0 else None
        return found

    def close(self) -> None:
        with kafka_errors("close admin client"):
            self._admin.close()


def open_admin(settings: Settings, options: AdminOptions) -> KafkaPythonAdmin:
    """A connected admin client; the caller closes it."""
    config = set_given(
        common_config(settings),
        bootstrap_timeout_ms=options.bootstrap_timeout_ms,
        request_timeout_ms=options.request_timeout_ms,
    )
    with connecting(settings, "connect admin client"):
        return KafkaPythonAdmin(KafkaAdminClient(**config))
