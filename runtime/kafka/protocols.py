"""The typed Kafka boundary: what hxbus asks of a producer, a consumer and an admin client.

Every transport (``runtime.kafka.kafka_python``, ``runtime.kafka.librdkafka``) implements
these, and so do the test fakes; nothing outside ``runtime.kafka`` sees a client's own
objects. The rules every implementation keeps:

- A client failure is raised as an ``schemas.errors`` class (``BrokerUnavailable``,
  ``NotAuthorized``, ``BrokerError``), chained ``from`` the client's exception; callers
  decide retry-or-DLQ from ``retriable``. Our own errors and non-Kafka exceptions (a bug)
  pass through untouched.
- Partitions are our ``TopicPartition``, records our ``Record``, offsets plain ints (the
  offset of the next record to read, as Kafka commits them).
- One client per thread: a consumer is used only by the thread that made it (the
  rebalance listener aside, see ``RebalanceListener``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Protocol

from runtime.kafka.records import (
    AclBinding,
    BrokerNode,
    GroupMetadata,
    NewTopic,
    Record,
    RecordMetadata,
    TopicDescription,
    TopicPartition,
)

#: Called on the polling thread, inside a later ``poll``, with the offsets a
#: ``commit_async`` sent and None (committed) or the ``HxError`` it failed with.
CommitCallback = Callable[[Mapping[TopicPartition, int], BaseException | None], None]


class SendFuture(Protocol):
    """A record handed to ``Producer.send``, until the broker acknowledged or refused it."""

    @property
    def is_done(self) -> bool:
        """The broker answered, or the send failed (expired, producer closed)."""
        ...

    @property
    def error(self) -> BaseException | None:
        """Why the send failed (an ``HxError``); None while pending or once acknowledged."""
        ...

    def get(self, timeout_s: float | None = None) -> RecordMetadata:
        """Wait for the acknowledgement; ``BrokerUnavailable`` when it did not come within
        ``timeout_s``, the send's own ``HxError`` when it failed."""
        ...


class Producer(Protocol):
    """An idempotent acks=all producer; transactional when made with a ``transactional_id``."""

    def send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> SendFuture:
        """Queue a record (the partition: ``partition_for_key`` of the key, when not given).
        May block up to the producer's ``max_block_ms``; raises ``HxError`` if it cannot
        queue it (unknown topic, buffer full, fenced producer)."""
        ...

    def flush(self, timeout_s: float | None = None) -> None:
        """Send everything queued and wait for the answers (``BrokerUnavailable`` when the
        time ran out). Each record's outcome stays on its ``SendFuture``."""
        ...

    def close(self, timeout_s: float | None = None) -> None:
        """Flush for up to ``timeout_s``, then release the connections."""
        ...

    def force_close(self, join_timeout_s: float = 10.0) -> None:
        """Stop without sending what is queued: the queued records fail. For a producer
        that wedged (``producers.connection``); ``close`` returns at once afterwards."""
        ...

    def partitions_for(self, topic: str) -> frozenset[int]:
        """The topic's partition numbers (waits for its metadata); ``BrokerError`` when the
        broker does not know the topic."""
        ...

    def init_transactions(self) -> None:
        """Register the ``transactional_id``, fencing older producers with the same id and
        aborting what they left open."""
        ...

    def begin_transaction(self) -> None: ...

    def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, int], group: GroupMetadata
    ) -> None:
        """Commit a consumer's next ``offsets`` with the open transaction (exactly once)."""
        ...

    def commit_transaction(self) -> None: ...

    def abort_transaction(self) -> None: ...


class RebalanceListener(Protocol):
    """Told by a subscribed consumer when partitions come and go.

    May be called on the client's own thread (kafka-python runs listeners on its IO
    thread), never concurrently with itself: guard what it shares with the poller.
    """

    def on_assigned(self, partitions: frozenset[TopicPartition]) -> None:
        """These partitions are now this consumer's."""
        ...

    def on_revoked(self, partitions: frozenset[TopicPartition]) -> Mapping[TopicPartition, int]:
        """These partitions go to another consumer: return the offsets to commit for them
        first (the transport commits them, best effort; a failure is only logged)."""
        ...

    def on_lost(self, partitions: frozenset[TopicPartition]) -> None:
        """These partitions were taken away (the consumer was thrown out of the group): a
        commit would be refused."""
        ...


class Consumer(Protocol):
    """A consumer with manual commits, reading only committed transactional records."""

    def subscribe(self, topics: Sequence[str], listener: RebalanceListener | None = None) -> None:
        """Join the group on ``topics``; partitions arrive (and ``listener`` hears) in ``poll``."""
        ...

    def unsubscribe(self) -> None: ...

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        """Read exactly ``partitions`` (no group membership)."""
        ...

    def assignment(self) -> frozenset[TopicPartition]:
        """The partitions this consumer holds now."""
        ...

    def topics(self) -> frozenset[str]:
        """Every topic the broker lets this client describe."""
        ...

    def partitions_for_topic(self, topic: str) -> frozenset[int]:
        """The topic's partition numbers; empty when the broker does not know it."""
        ...

    def poll(
        self, timeout_s: float, max_records: int | None = None
    ) -> dict[TopicPartition, list[Record]]:
        """Records of the partitions held and not paused, in offset order per partition;
        at most ``max_records`` in all; ``{}`` when none came within ``timeout_s``.
        Rebalances, commit callbacks and heartbeats happen in here."""
        ...

    def pause(self, partitions: Collection[TopicPartition]) -> None:
        """Stop fetching ``partitions`` (the group membership stays)."""
        ...

    def resume(self, partitions: Collection[TopicPartition]) -> None:
        """Fetch ``partitions`` again, from their current position."""
        ...

    def seek(self, partition: TopicPartition, offset: int) -> None:
        """Read ``partition`` from ``offset`` next."""
        ...

    def seek_to_beginning(self, partitions: Collection[TopicPartition]) -> None: ...

    def seek_to_end(self, partitions: Collection[TopicPartition]) -> None: ...

    def position(self, partition: TopicPartition) -> int:
        """The offset of the next record ``poll`` returns for ``partition``."""
        ...

    def highwater(self, partition: TopicPartition) -> int | None:
        """The end offset the last fetch saw (no request); None before any fetch."""
        ...

    def committed(self, partition: TopicPartition) -> int | None:
        """The group's committed offset of ``partition``; None when it never committed."""
        ...

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit ``offsets`` (next offset to read) and wait for the broker."""
        ...

    def commit_async(self, offsets: Mapping[TopicPartition, int], callback: CommitCallback) -> None:
        """Send ``offsets`` for commit; ``callback`` hears the answer in a later ``poll``."""
        ...

    def group_metadata(self) -> GroupMetadata:
        """The membership to hand a transactional producer (``send_offsets_to_transaction``)."""
        ...

    def beginning_offsets(
        self, partitions: Collection[TopicPartition]
    ) -> dict[TopicPartition, int]: ...

    def end_offsets(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int]:
        """The last stable offset (``read_committed``) of each partition."""
        ...

    def offsets_for_times(
        self, timestamps: Mapping[TopicPartition, int]
    ) -> dict[TopicPartition, int | None]:
        """The first offset at or after each timestamp (ms); None past the end."""
        ...

    def close(self) -> None:
        """Leave the group and release the connections; never commits."""
        ...


class Admin(Protocol):
    """The cluster operations provisioning, access control and the tools need."""

    def describe_cluster(self) -> tuple[BrokerNode, ...]: ...

    def list_topics(self) -> frozenset[str]: ...

    def describe_topics(self, names: Sequence[str]) -> dict[str, TopicDescription]:
        """The topics the broker knows among ``names`` (unknown ones are left out)."""
        ...

    def describe_topic_configs(
        self, names: Sequence[str], keys: Sequence[str]
    ) -> dict[str, dict[str, str | None]]:
        """Per topic, the current value of each of ``keys`` (set or default)."""
        ...

    def create_topics(self, topics: Sequence[NewTopic], timeout_s: float = 30.0) -> None:
        """Create ``topics`` (one that exists already is fine) and wait until the cluster
        serves them."""
        ...

    def delete_topics(self, names: Sequence[str]) -> None:
        """Delete ``names`` (one the broker does not know is fine); for tests and tools."""
        ...

    def create_partitions(self, topic: str, total: int) -> None:
        """Grow ``topic`` to ``total`` partitions."""
        ...

    def alter_topic_configs(self, topic: str, configs: Mapping[str, str]) -> None:
        """Set ``configs`` on ``topic`` (others keep their values)."""
        ...

    def describe_acls(self) -> tuple[AclBinding, ...] | None:
        """Every ACL binding; None when the broker has no authorizer (not secured)."""
        ...

    def create_acls(self, acls: Sequence[AclBinding]) -> None:
        """``BrokerError`` naming the first failures when some were not created."""
        ...

    def delete_acls(self, acls: Sequence[AclBinding]) -> None:
        """Delete exactly these bindings; ``BrokerError`` when some could not be."""
        ...

    def scram_users(self, mechanism: str) -> frozenset[str]:
        """Users holding a SCRAM credential of ``mechanism``."""
        ...

    def alter_scram_users(
        self, mechanism: str, upserts: Mapping[str, str], deletions: Sequence[str]
    ) -> None:
        """Write (user -> password) and delete SCRAM credentials; ``BrokerError`` naming the
        users (never a password) whose change failed."""
        ...

    def committed_offsets(
        self, group: str, partitions: Sequence[TopicPartition], timeout_s: float = 30.0
    ) -> dict[TopicPartition, int | None]:
        """``group``'s committed offsets (None: never committed). Retries while a fresh
        broker's group coordinator is still loading, up to ``timeout_s``."""
        ...

    def close(self) -> None: ...
