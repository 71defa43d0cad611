"""The one Kafka boundary: only this package imports a Kafka client.

``protocols`` says what hxbus asks of a producer, consumer and admin client; ``records``
and ``options`` are the data that cross; ``factory`` opens clients of the transport
``HX_KAFKA_CLIENT`` names (``kafka_python``, the default; ``librdkafka``, optional).
Private parts of a client that are still needed live in the transport's own modules,
each naming the version it was checked on (see docs/architecture.md, "The Kafka
boundary").
"""

from runtime.kafka.client_id import CLIENT_ID_PREFIX, for_role, role_client_id
from runtime.kafka.factory import (
    TRANSPORTS,
    broker_answers,
    open_admin,
    open_consumer,
    open_producer,
    transport,
)
from runtime.kafka.options import AdminOptions, Compression, ConsumerOptions, ProducerOptions
from runtime.kafka.partitioner import murmur2, partition_for_key
from runtime.kafka.protocols import (
    Admin,
    CommitCallback,
    Consumer,
    Producer,
    RebalanceListener,
    SendFuture,
)
from runtime.kafka.records import (
    SCRAM_MECHANISM,
    AclBinding,
    BrokerNode,
    GroupMetadata,
    Headers,
    NewTopic,
    PartitionDescription,
    Record,
    RecordMetadata,
    TopicDescription,
    TopicPartition,
)

__all__ = [
    "CLIENT_ID_PREFIX",
    "SCRAM_MECHANISM",
    "TRANSPORTS",
    "AclBinding",
    "Admin",
    "AdminOptions",
    "BrokerNode",
    "CommitCallback",
    "Compression",
    "Consumer",
    "ConsumerOptions",
    "GroupMetadata",
    "Headers",
    "NewTopic",
    "PartitionDescription",
    "Producer",
    "ProducerOptions",
    "RebalanceListener",
    "Record",
    "RecordMetadata",
    "SendFuture",
    "TopicDescription",
    "TopicPartition",
    "broker_answers",
    "for_role",
    "murmur2",
    "open_admin",
    "open_consumer",
    "open_producer",
    "partition_for_key",
    "role_client_id",
    "transport",
]
