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
  clients are opened with ``error_cb``, and ``librdkafka_connection.opened`` asks for metadata in
  short steps until the broker answers or an authentication error arrived: the same
  ``NotAuthorized`` as on kafka-python, within a second, not a bootstrap timeout.
- ``produce`` never blocks: a full queue raises ``BufferError``; ``max_block_ms`` is kept
  by serving delivery reports until there is room.
- ``Consumer.consume(n, timeout)`` waits until ``n`` records or the timeout: ``poll``
  takes what is there at once and waits only for a first record.
- ``assign`` starts fetching at once, and ``seek`` works only on a partition being
  fetched: a manual assignment is handed over at the first ``poll`` with the offsets
  sought by then (as kafka-python's seek before a poll does).
- librdkafka has none of kafka-python's parked-fetch trouble (``parked_fetches``): a
  resumed partition is fetched again from its position; nothing private is reached here.
- Every client must be closed (its threads and sockets stay until then): ``close``
  always closes, also after a failed flush; an open that fails closes what it made.

The modules: ``librdkafka_errors`` (``KafkaError`` codes to ``schemas.errors``),
``librdkafka_connection`` (settings, opening with the login check, conversions),
``librdkafka_producer``, ``librdkafka_consumer`` (the manual assignment handed over at the
first poll, so seeks before it set where fetching starts), ``librdkafka_admin``;
``librdkafka_raw`` is the bench's plain client. This module is what ``runtime.kafka.factory``
opens: the three ``open_*`` functions.
"""

from runtime.kafka.librdkafka_admin import LibrdkafkaAdmin, open_admin
from runtime.kafka.librdkafka_connection import (
    ASSIGNMENT_STRATEGY,
    PARTITIONER,
    RECONNECT_BACKOFF_MAX_MS,
    Connection,
    consumer_config,
    producer_config,
)
from runtime.kafka.librdkafka_consumer import LibrdkafkaConsumer, open_consumer
from runtime.kafka.librdkafka_errors import error_for, kafka_errors
from runtime.kafka.librdkafka_producer import LibrdkafkaProducer, open_producer

__all__ = [
    "ASSIGNMENT_STRATEGY",
    "PARTITIONER",
    "RECONNECT_BACKOFF_MAX_MS",
    "Connection",
    "LibrdkafkaAdmin",
    "LibrdkafkaConsumer",
    "LibrdkafkaProducer",
    "consumer_config",
    "error_for",
    "kafka_errors",
    "open_admin",
    "open_consumer",
    "open_producer",
    "producer_config",
]
