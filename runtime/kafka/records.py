"""The data that crosses the Kafka boundary: ours, whatever the transport.

No client object passes ``runtime.kafka``: a consumer hands out ``Record``s keyed by our
``TopicPartition``; a send answers with ``RecordMetadata``; provisioning speaks in
``NewTopic``, ``TopicDescription``, ``BrokerNode`` and ``AclBinding``. Each transport
converts at its edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import NamedTuple


class TopicPartition(NamedTuple):
    """One partition of a topic. A tuple, so ``topic, partition = tp`` works and it sorts."""

    topic: str
    partition: int


#: A record's headers in wire order; a header without a value carries ``b""``.
Headers = tuple[tuple[str, bytes], ...]


def headers_of(headers: Sequence[tuple[str, bytes | None]] | None) -> Headers:
    """A record's headers as ours: a header without a value (None) carries ``b""``.

    Every record of the bus carries a dozen headers, all with values: the pairs are taken
    as they are (one C-level scan for a None) instead of rebuilt one by one (~1 us a record).
    """
    if not headers:
        return ()
    if None in map(_header_value, headers):
        return tuple((name, value or b"") for name, value in headers)
    return tuple(headers)  # type: ignore[arg-type]  # no None among them


_header_value = itemgetter(1)


@dataclass(frozen=True, slots=True)
class Record:
    """One record read from Kafka."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    #: The record's timestamp (producer's create time, or the broker's log-append time).
    timestamp_ms: int

    @property
    def tp(self) -> TopicPartition:
        """The partition the record came from."""
        return TopicPartition(self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class RecordMetadata:
    """Where the broker stored a record it acknowledged."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class GroupMetadata:
    """A consumer's group membership, for ``Producer.send_offsets_to_transaction``.

    The broker refuses a transactional offset commit from a consumer that lost its
    partitions (KIP-447) only when it sees the generation and member id, so the transport
    keeps its own object in ``native`` (opaque outside the transport that made it).
    """

    group_id: str
    native: object = field(default=None, compare=False, repr=False)


# -- admin ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrokerNode:
    """One broker of the cluster, as the controller sees it."""

    node_id: int
    host: str
    port: int
    #: A KRaft broker that is registered but not (yet, or no longer) serving.
    fenced: bool = False


@dataclass(frozen=True, slots=True)
class PartitionDescription:
    """One partition of a described topic: its leader (-1: none), replica brokers and the
    replicas in sync."""

    partition: int
    leader: int
    replicas: tuple[int, ...]
    in_sync: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class TopicDescription:
    """A topic the broker knows: its partitions in order."""

    name: str
    partitions: tuple[PartitionDescription, ...]


@dataclass(frozen=True, slots=True)
class NewTopic:
    """A topic to create."""

    name: str
    partitions: int
    replication: int
    configs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, order=True)
class AclBinding:
    """One ACL binding; enum values by their Kafka names (``TOPIC``, ``PREFIXED``, ``READ``,
    ``ALLOW``), so both transports and the access plan compare plain strings."""

    principal: str  # "User:bridge-js"
    host: str  # "*"
    operation: str  # READ, WRITE, DESCRIBE, CREATE, ...
    permission: str  # ALLOW, DENY
    resource_type: str  # TOPIC, GROUP, TRANSACTIONAL_ID, CLUSTER
    resource_name: str
    pattern_type: str  # LITERAL, PREFIXED

    def __str__(self) -> str:
        return (
            f"{self.permission} {self.principal} {self.operation} on {self.resource_type} "
            f"{self.pattern_type.lower()} {self.resource_name} from {self.host}"
        )


#: The SCRAM mechanism hxbus writes credentials for (Kafka's strongest).
SCRAM_MECHANISM = "SCRAM-SHA-512"
