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

The modules: ``kafka_python_connection`` (settings, opening with the refused-login watch,
conversions), ``kafka_python_producer``, ``kafka_python_consumer``, ``kafka_python_admin``;
``errors`` maps kafka-python's exceptions, ``login_probe`` and ``parked_fetches`` hold
the private parts above, ``raw`` is the bench's plain client. This module is what
``runtime.kafka.factory`` opens: the three ``open_*`` functions.
"""

from runtime.kafka.kafka_python_admin import KafkaPythonAdmin, open_admin
from runtime.kafka.kafka_python_connection import (
    RECONNECT_BACKOFF_MAX_MS,
    consumer_config,
    producer_config,
)
from runtime.kafka.kafka_python_consumer import KafkaPythonConsumer, open_consumer
from runtime.kafka.kafka_python_producer import KafkaPythonProducer, open_producer

__all__ = [
    "RECONNECT_BACKOFF_MAX_MS",
    "KafkaPythonAdmin",
    "KafkaPythonConsumer",
    "KafkaPythonProducer",
    "consumer_config",
    "open_admin",
    "open_consumer",
    "open_producer",
    "producer_config",
]
