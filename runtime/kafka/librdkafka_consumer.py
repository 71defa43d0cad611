"""The librdkafka consumer: ``runtime.kafka.protocols.Consumer`` on confluent-kafka's ``Consumer``.

Rebalance callbacks and commit reports run inside ``poll`` on the polling thread. A manual
assignment is handed to librdkafka at the first poll, so seeks made before it set where
fetching starts (librdkafka starts fetching at ``assign``; see ``LibrdkafkaConsumer``).

Slightly over 400 lines: one class implementing the Consumer protocol's two dozen methods,
most of which read or change the one state of the manual assignment (its start offsets,
paused partitions, whether librdkafka has it yet); split, that state would be shared
across modules.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import cast

import confluent_kafka as ck

from runtime.kafka.librdkafka_connection import (
    Connection,
    consumer_config,
    native_tp,
    opened,
    ours_tp,
)
from runtime.kafka.librdkafka_errors import (
    E,
    error_for,
    kafka_error_of,
    kafka_errors,
    raise_if,
)
from runtime.kafka.options import ConsumerOptions
from runtime.kafka.protocols import (
    CommitCallback,
    Consumer,
    RebalanceListener,
)
from runtime.kafka.records import (
    GroupMetadata,
    Record,
    TopicPartition,
    headers_of,
)
from runtime.settings import Settings
from schemas.errors import BrokerUnavailable, HxError

log = logging.getLogger("hxbus.kafka.librdkafka")


def _record(message: ck.Message) -> Record:
    # confluent-kafka already hands out str topics, int partitions and offsets, bytes or
    # None keys and values, and headers as a list of (str, bytes or None) pairs.
    return Record(
        message.topic() or "",
        message.partition() or 0,
        message.offset() or 0,
        message.key(),
        message.value(),
        headers_of(cast("list[tuple[str, bytes | None]] | None", message.headers())),
        message.timestamp()[1],
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
            self._listener.on_assigned(frozenset(ours_tp(tp) for tp in partitions))

    def revoked(self, native: ck.Consumer, partitions: list[ck.TopicPartition]) -> None:
        if self._listener is None:
            return
        offsets = self._listener.on_revoked(frozenset(ours_tp(tp) for tp in partitions))
        if not offsets:
            return
        try:
            native.commit(
                offsets=[native_tp(tp, o) for tp, o in offsets.items()], asynchronous=False
            )
        except ck.KafkaException as exc:  # best effort: the next owner reads them again
            log.warning("commit on revoke failed: %s", exc)

    def lost(self, _native_consumer: ck.Consumer, partitions: list[ck.TopicPartition]) -> None:
        if self._listener is not None:
            self._listener.on_lost(frozenset(ours_tp(tp) for tp in partitions))


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
        #: The committed offset a held partition starts at, asked once while nothing of it
        #: is read (``_start``): the loop asks every partition's position after each poll
        #: until it has read them all to their ends. Dropped when the partition is
        #: assigned again, sought, or committed.
        self._committed_starts: dict[TopicPartition, int] = {}
        #: librdkafka's assignment as of the last poll: it changes only inside ``poll``
        #: (rebalance callbacks), at ``assign``/``subscribe`` and their undoing, and the
        #: loop asks for it per missing alert (``Failures.reading_behind``): each ask
        #: built two dozen partitions anew. None: ask librdkafka.
        self._assigned: frozenset[TopicPartition] | None = None
        self._closed = False

    def forget_seeks(self, partitions: Iterable[ck.TopicPartition]) -> None:
        self._assigned = None
        for tp in partitions:
            self._sought.pop(ours_tp(tp), None)
            self._committed_starts.pop(ours_tp(tp), None)

    def on_commit(self, error: ck.KafkaError | None, partitions: list[ck.TopicPartition]) -> None:
        """librdkafka's commit report (``on_commit``), served inside poll."""
        done = frozenset((tp.topic, tp.partition, tp.offset) for tp in partitions)
        for index, (sent, callback) in enumerate(self._commits):
            if sent == done:
                del self._commits[index]
                offsets = {ours_tp(tp): tp.offset for tp in partitions}
                failure = error_for(error, "commit") if error is not None else None
                if failure is None:
                    failed = next((tp.error for tp in partitions if tp.error), None)
                    failure = error_for(failed, "commit") if failed is not None else None
                callback(offsets, failure)
                return

    def subscribe(self, topics: Sequence[str], listener: RebalanceListener | None = None) -> None:
        rebalance = _Rebalance(self, listener)
        self._manual, self._unapplied, self._paused = None, False, set()
        self._assigned = None
        self._committed_starts = {}
        with kafka_errors("subscribe"):
            self._consumer.subscribe(
                list(topics),
                on_assign=rebalance.assigned,
                on_revoke=rebalance.revoked,
                on_lost=rebalance.lost,
            )

    def unsubscribe(self) -> None:
        """Leave the subscription and drop a manual assignment too (as kafka-python's
        ``unsubscribe``: ``runtime.topic_end.read_to_end`` leaves its reader unassigned)."""
        self._committed_starts = {}
        self._assigned = None
        with kafka_errors("unsubscribe"):
            if self._manual is not None:
                if not self._unapplied:
                    self._consumer.unassign()
                self._manual, self._unapplied, self._paused = None, False, set()
                return
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
        self._committed_starts = {}
        self._unapplied = True

    def _apply_assignment(self) -> None:
        """Hand a manual assignment made since the last poll to librdkafka."""
        if self._unapplied:
            self._assign_manual()
            self._unapplied = False

    def _assign_manual(self) -> None:
        assert self._manual is not None
        self._assigned = None
        with kafka_errors("assign"):
            self._consumer.assign([native_tp(tp, o) for tp, o in self._manual.items()])
            if self._paused:  # a fresh assignment fetches every partition
                self._consumer.pause([native_tp(tp) for tp in self._paused])

    def assignment(self) -> frozenset[TopicPartition]:
        if self._manual is not None and self._unapplied:
            return frozenset(self._manual)
        if self._assigned is None:
            with kafka_errors("assignment"):
                self._assigned = frozenset(ours_tp(tp) for tp in self._consumer.assignment())
        return self._assigned

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
        try:
            with kafka_errors("poll"):
                # consume(n, t) waits for n records or t: take what is there, wait only
                # for one.
                messages = self._consumer.consume(limit, 0)
                if not messages and timeout_s > 0:
                    messages = self._consumer.consume(1, timeout_s)
                    if messages and limit > 1:
                        messages += self._consumer.consume(limit - 1, 0)
        finally:
            self._assigned = None  # a rebalance runs inside consume
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
            self._consumer.pause([native_tp(tp) for tp in partitions])

    def resume(self, partitions: Collection[TopicPartition]) -> None:
        # No parked read-ahead to drop: librdkafka fetches a resumed partition again.
        if not partitions:
            return
        self._paused.difference_update(partitions)
        if self._manual is not None and self._unapplied:
            return
        with kafka_errors("resume"):
            self._consumer.resume([native_tp(tp) for tp in partitions])

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self._committed_starts.pop(partition, None)
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
                self._consumer.seek(native_tp(partition, offset))
            except ck.KafkaException as exc:
                # A partition whose fetch has not started yet (its start offset still
                # being looked up) cannot be sought (_STATE): assign again, this one at
                # the offset, the others where they are.
                error = kafka_error_of(exc)
                if not manual or error is None or error.code() != E._STATE:
                    raise
                self._reassign_at_positions(sought=partition)

    def _reassign_at_positions(self, sought: TopicPartition) -> None:
        """Assign the manual partitions again: ``sought`` at its new start, the others at
        their positions (where they started, if nothing was read yet)."""
        assert self._manual is not None
        with kafka_errors("position"):
            for found in self._consumer.position([native_tp(tp) for tp in self._manual]):
                tp = ours_tp(found)
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
                (found,) = self._consumer.position([native_tp(partition)])
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
            committed = self._committed_starts.get(partition)
            if committed is None:
                committed = self.committed(partition)
            if committed is not None:
                self._committed_starts[partition] = committed
                return committed
            earliest = self._options.auto_offset_reset == "earliest"
            start = ck.OFFSET_BEGINNING if earliest else ck.OFFSET_END
        low, high = self._cached_watermarks(partition) or self._watermarks(partition)
        offset = low if start == ck.OFFSET_BEGINNING else high
        if self._manual is not None and self._unapplied and partition in self._manual:
            self._manual[partition] = self._sought[partition] = offset
        return offset

    def highwater(self, partition: TopicPartition) -> int | None:
        with kafka_errors("highwater"):
            _low, high = self._consumer.get_watermark_offsets(native_tp(partition), cached=True)
        return None if high is None or high < 0 else int(high)

    def committed(self, partition: TopicPartition) -> int | None:
        if self._group_id is None:  # no group: nothing was ever committed
            return None
        with kafka_errors(f"committed offset of {partition.topic}[{partition.partition}]"):
            (found,) = self._consumer.committed([native_tp(partition)], timeout=30)
        raise_if(found.error, "committed offset")
        return int(found.offset) if found.offset >= 0 else None

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        if not offsets:
            return
        for partition in offsets:
            self._committed_starts.pop(partition, None)
        native = [native_tp(tp, o) for tp, o in offsets.items()]
        with kafka_errors("commit"):
            result = self._consumer.commit(offsets=native, asynchronous=False)
        for tp in result or ():
            raise_if(tp.error, f"commit {tp.topic}[{tp.partition}]")

    def commit_async(self, offsets: Mapping[TopicPartition, int], callback: CommitCallback) -> None:
        if not offsets:
            return
        for partition in offsets:
            self._committed_starts.pop(partition, None)
        native = [native_tp(tp, o) for tp, o in offsets.items()]
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

    def _cached_watermarks(self, partition: TopicPartition) -> tuple[int, int] | None:
        """The watermarks the last fetch of ``partition`` told, None before one did.

        Asking the broker instead (``_watermarks``) waits behind the fetch in flight on
        the same connection: the broker answers a connection's requests in order and
        holds a fetch up to ``fetch.wait.max.ms`` (500 ms) when no records are new, so
        each such ``position`` took ~0.5 s (measured), and the loop asks every partition
        it holds after each poll.
        """
        with kafka_errors(f"offsets of {partition.topic}[{partition.partition}]"):
            low, high = self._consumer.get_watermark_offsets(native_tp(partition), cached=True)
        if low is None or high is None or low < 0 or high < 0:
            return None
        return int(low), int(high)

    def _watermarks(self, partition: TopicPartition) -> tuple[int, int]:
        with kafka_errors(f"offsets of {partition.topic}[{partition.partition}]"):
            low, high = self._consumer.get_watermark_offsets(
                native_tp(partition), timeout=30, cached=False
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
        native = [native_tp(tp, ts) for tp, ts in timestamps.items()]
        with kafka_errors("offsets for times"):
            found = self._consumer.offsets_for_times(native, timeout=30)
        result: dict[TopicPartition, int | None] = {}
        for tp in found:
            raise_if(tp.error, "offsets for times")
            result[ours_tp(tp)] = int(tp.offset) if tp.offset >= 0 else None
        return result

    def close(self) -> None:
        """Leave the group (a rebalance's revoke runs, committing nothing by itself)."""
        if self._closed:
            return
        self._closed = True
        self._assigned = None
        with kafka_errors("close consumer"):
            self._consumer.close()


def open_consumer(settings: Settings, options: ConsumerOptions) -> Consumer:
    """A connected consumer (manual commits, ``read_committed``); one per thread."""
    connection = Connection()
    config = consumer_config(settings, options, connection)
    holder: list[LibrdkafkaConsumer] = []
    config["on_commit"] = lambda error, partitions: (
        holder[0].on_commit(error, partitions) if holder else None
    )
    native = opened(
        lambda: ck.Consumer(config),
        connection,
        settings,
        "connect consumer",
        options.bootstrap_timeout_ms,
    )
    consumer = LibrdkafkaConsumer(native, options)
    holder.append(consumer)
    return consumer
