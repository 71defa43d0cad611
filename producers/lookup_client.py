"""Asking the operator's lookup service whether a subject has a live need-to-know alert.

The agency's side of ``schemas.lookup``: one signed request on ``hx.lookup.requests``,
the answer read from the agency's own ``hx.lookup.replies.<agency>``. The replies
partition positions are taken before the first question, so only answers to this
client's questions are read (matched by request id). No answer within the timeout is
``BrokerUnavailable``: the duplicate check then refuses to guess.
"""

from __future__ import annotations

import time
import uuid

import structlog

from runtime import Settings, Signer, open_consumer, open_producer
from runtime.kafka import Producer, ProducerOptions, TopicPartition
from schemas.errors import BrokerUnavailable, HxError
from schemas.lookup import (
    LOOKUP_REQUESTS,
    REQUEST_TYPE,
    LookupReply,
    LookupRequest,
    lookup_replies_topic,
)

DEFAULT_TIMEOUT_S = 5.0
#: Pause before asking again after a ``rate_limited`` refusal (the service refills 20/s).
RATE_LIMITED_PAUSE_S = 0.1

log = structlog.get_logger("hxbus.lookup_client")


class LookupClient:
    """Asks as ``agency``; ``ask`` returns the service's ``LookupReply``."""

    def __init__(
        self,
        settings: Settings,
        agency: str,
        *,
        signer: Signer | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        producer: Producer | None = None,
    ) -> None:
        self.agency = agency
        self._signer = signer
        self._timeout_s = timeout_s
        self._producer = producer or open_producer(settings, ProducerOptions(linger_ms=0))
        self._consumer = open_consumer(settings)
        topic = lookup_replies_topic(agency)
        numbers = self._consumer.partitions_for_topic(topic)
        if not numbers:
            raise BrokerUnavailable(f"{topic}: no such topic (run hxbus provision)")
        partitions = [TopicPartition(topic, p) for p in sorted(numbers)]
        self._consumer.assign(partitions)
        self._consumer.seek_to_end(partitions)
        for tp in partitions:  # resolve the end now: later replies are after it
            self._consumer.position(tp)

    def ask(self, subject_key: str) -> LookupReply:
        """The service's answer on ``subject_key`` (``schemas.subjects``).

        A question refused for the rate limit is asked again after a pause, until the
        timeout: a file of many new need-to-know alerts is slowed to the limit, not
        refused."""
        deadline = time.monotonic() + self._timeout_s
        while True:
            reply = self._ask_once(subject_key)
            if reply.refused != "rate_limited" or time.monotonic() > deadline:
                return reply
            time.sleep(RATE_LIMITED_PAUSE_S)

    def _ask_once(self, subject_key: str) -> LookupReply:
        request = LookupRequest(str(uuid.uuid4()), subject_key)
        value = request.to_json()
        key = self.agency.encode()
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", request.request_id.encode()),
            ("ce_source", key),
            ("ce_type", REQUEST_TYPE.encode()),
            ("content-type", b"application/json"),
        ]
        if self._signer is not None:
            headers += self._signer.sign(LOOKUP_REQUESTS, key, value, headers)
        self._producer.send(LOOKUP_REQUESTS, key=key, value=value, headers=headers).get(
            self._timeout_s
        )
        deadline = time.monotonic() + self._timeout_s
        while time.monotonic() < deadline:
            polled = self._consumer.poll(0.2)
            for records in polled.values():
                for record in records:
                    try:
                        reply = LookupReply.from_json(record.value or b"")
                    except (ValueError, TypeError, KeyError):
                        continue
                    if reply.request_id == request.request_id:
                        return reply
        raise BrokerUnavailable(
            f"lookup: no answer within {self._timeout_s:g} s (is the lookup service running?)"
        )

    def close(self) -> None:
        """Close the reply reader and the producer (a failure to close is only logged)."""
        self._consumer.close()
        self._producer.close(5)


class LazyLookup:
    """A ``LookupClient`` made on the first question (a file without new need-to-know
    alerts never touches the lookup topics).

    The duplicate check is a help to the desk, not a guard of need to know: when the
    service does not answer (not running, not provisioned, ``lookup_timeout_s`` 0) the
    alert goes unchecked and a warning says so once; the run does not wait again.
    """

    def __init__(self, settings: Settings, agency: str, *, signer: Signer | None = None) -> None:
        self._settings = settings
        self._agency = agency
        self._signer = signer
        self._client: LookupClient | None = None
        self._away = settings.lookup_timeout_s <= 0

    def ask(self, subject_key: str) -> LookupReply | None:
        client = self._connected()
        if client is None:
            return None
        try:
            return client.ask(subject_key)
        except HxError as exc:
            self._give_up(exc)
            return None

    def warm_up(self) -> None:
        """Connect now rather than at the first question: a sender that holds a rate (the
        demo's desks) connects before its clock starts. Opening the client (a producer and
        a consumer: two logins, metadata, the replies' end offsets) is what the first new
        need-to-know alert of each desk, and every event queued behind it, waited for."""
        self._connected()

    def _connected(self) -> LookupClient | None:
        if self._away:
            return None
        if self._client is None:
            try:
                self._client = LookupClient(
                    self._settings,
                    self._agency,
                    signer=self._signer,
                    timeout_s=self._settings.lookup_timeout_s,
                )
            except HxError as exc:
                self._give_up(exc)
                return None
        return self._client

    def _give_up(self, exc: HxError) -> None:
        self._away = True
        log.warning(
            "lookup_unavailable",
            error=str(exc),
            hint="new need-to-know alerts of this run are not checked for duplicates",
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
