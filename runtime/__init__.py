"""The small shared runtime: settings, logging, metrics, Kafka clients, signing."""

from runtime.kafka import (
    admin_client,
    consumer_config,
    kafka_errors,
    make_consumer,
    make_producer,
    producer_config,
    raise_for_error_code,
    topic_config_resource,
)
from runtime.logging import configure_logging, mask_personal_data
from runtime.provision import (
    Action,
    AddPartitions,
    AlterTopicConfig,
    ClusterState,
    CreateTopic,
    Plan,
    TopicSpec,
    TopicState,
    apply_plan,
    fit_replication,
    plan_provisioning,
    read_cluster_state,
    run_provisioning,
)
from runtime.settings import Settings
from runtime.signing import REPLAY_HEADERS, SignedMessage, Signer, Verifier

__all__ = [
    "REPLAY_HEADERS",
    "Action",
    "AddPartitions",
    "AlterTopicConfig",
    "ClusterState",
    "CreateTopic",
    "Plan",
    "Settings",
    "SignedMessage",
    "Signer",
    "TopicSpec",
    "TopicState",
    "Verifier",
    "admin_client",
    "apply_plan",
    "configure_logging",
    "consumer_config",
    "fit_replication",
    "kafka_errors",
    "make_consumer",
    "make_producer",
    "mask_personal_data",
    "plan_provisioning",
    "producer_config",
    "raise_for_error_code",
    "read_cluster_state",
    "run_provisioning",
    "topic_config_resource",
]
