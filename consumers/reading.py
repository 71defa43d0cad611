"""From a Kafka record to a checked ``Delivery``, or the reason it is poison.

The checks run in this order, cheapest proof of garbage first: the value must be Avro
single-object encoding with a fingerprint the catalog knows (``Codec.decode``, which also
resolves the writer's schema into ours); the CloudEvents headers must be there and well
formed (``parse_headers``); ``ce_type`` must name the type the value decoded to, and an
``hx_fingerprint`` header, when a sender adds one, the fingerprint in the value;
and the verifier, when there is one, must accept the signature. Any failure is an
``HxError`` whose ``reason`` becomes the DLQ reason.

Expiry is judged here too, at handling time: an alert (PersonAlert, VehicleAlert) whose
``valid_until`` has passed is not poison (it was valid when sent; it arrived late, or was
redelivered, or replayed) but must not reach a local system as live, so the loop skips it
with the outcome ``expired`` and a log line, and commits it. It does not go to the DLQ:
replaying it could never make it valid again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from consumers.delivery import Delivery
from runtime import Verifier
from runtime.kafka import Record
from schemas import parse_headers
from schemas.errors import BadMagic, HxError, MissingHeader
from schemas.headers import HX_FINGERPRINT

#: Event types that carry a ``valid_until`` after which they must not be delivered as live.
EXPIRING_TYPES = frozenset({"PersonAlert", "VehicleAlert"})


class Decoder(Protocol):
    """The part of ``schemas.Codec`` the consumer needs."""

    def decode(self, value: bytes) -> tuple[str, dict[str, Any]]: ...


#: The DLQ reason of an exception that is not an ``HxError``: a bug met by this input.
UNEXPECTED = "unexpected_error"


@dataclass(frozen=True, slots=True)
class Poison:
    """A record that cannot be handed on: the error, its DLQ reason, the type if it decoded."""

    error: BaseException
    reason: str
    event_type: str | None = None

    @classmethod
    def of(cls, error: BaseException, event_type: str | None = None) -> Poison:
        """Poison for ``error``; its reason is the HxError's, else ``unexpected_error``."""
        reason = error.reason if isinstance(error, HxError) else UNEXPECTED
        return cls(error, reason, event_type)


def header_pairs(record: Record) -> list[tuple[str, bytes]]:
    """The record's headers in wire order (a missing value is already empty bytes)."""
    return list(record.headers)


class MessageReader:
    """Decodes and checks one record at a time; holds the codec and verifier it was given."""

    def __init__(self, codec: Decoder, verifier: Verifier | None = None) -> None:
        self._codec = codec
        self._verifier = verifier

    def read(self, record: Record) -> Delivery | Poison:
        """The checked ``Delivery``, or ``Poison`` carrying the non-retriable error.

        A retriable error (a verifier that cannot reach its keys) is raised, not returned:
        the loop retries the partition instead of dead-lettering the message. An exception
        that is not an ``HxError`` is a bug this input met: poison with the reason
        ``unexpected_error``, so that one odd record does not stop the stream and can be
        replayed once the bug is fixed.
        """
        event_type: str | None = None
        try:
            value = record.value
            if not value:
                raise BadMagic("value: empty (a tombstone or a blank message), not an hxbus event")
            event_type, data = self._codec.decode(value)
            pairs = header_pairs(record)
            envelope, headers = parse_headers(pairs)
            if envelope.event_type != event_type:
                raise MissingHeader(
                    f"ce_type: says {envelope.event_type}, but the value is a {event_type}"
                )
            written_with = value[2:10].hex()
            claimed = headers.get(HX_FINGERPRINT)
            if claimed is not None and claimed.decode("ascii", "replace") != written_with:
                raise MissingHeader(
                    f"{HX_FINGERPRINT}: does not match the value's writer schema {written_with}"
                )
            delivery = Delivery(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=record.key,
                value=value,
                header_list=pairs,
                headers=headers,
                envelope=envelope,
                event_type=event_type,
                record=data,
                timestamp=datetime.fromtimestamp(record.timestamp_ms / 1000, UTC),
            )
            if self._verifier is not None:
                self._verifier.verify(delivery)
        except HxError as exc:
            if exc.retriable:
                raise
            return Poison.of(exc, event_type)
        except Exception as exc:
            return Poison.of(exc, event_type)
        return delivery


def expired(delivery: Delivery, now: datetime) -> bool:
    """Whether ``delivery`` is an alert past its ``valid_until`` at ``now``."""
    if delivery.event_type not in EXPIRING_TYPES:
        return False
    valid_until = delivery.record.get("valid_until")
    return isinstance(valid_until, datetime) and valid_until <= now


def utc_now() -> datetime:
    return datetime.now(UTC)


Clock = Callable[[], datetime]
