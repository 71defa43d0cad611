"""The signing hook shared by everything that writes to or reads from the bus.

Every message is signed by its source agency (design.md, Security). Producers call a
``Signer`` on the exact bytes that go to Kafka — after routing, keying, encoding and the
envelope headers are fixed — and append the headers it returns (``hx_signature``,
``hx_key_id``). Consumers verify the same tuple. The Ed25519 implementation belongs to the
security layer; this module only fixes the shape both sides code against, so that
``producers`` and ``consumers`` never import each other.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Signer(Protocol):
    """Signs one outgoing Kafka message; returns the extra headers that carry the signature.

    ``headers`` are the headers already on the message (CloudEvents + ``hx_``), in order;
    a signer must cover topic, key, value and those headers, so that a message re-routed
    to another topic, re-keyed, or with a header changed, fails verification.
    """

    def sign(
        self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
    ) -> list[tuple[str, bytes]]: ...


#: Headers a replay of a dead-lettered message appends after signing (``hxbus dlq replay``).
#: A verifier leaves them, like the signature headers themselves, out of what it checks.
REPLAY_HEADERS: frozenset[str] = frozenset({"hx_replay_of", "hx_replay_count"})


class SignedMessage(Protocol):
    """What a verifier needs of one received message (the consumer's ``Delivery`` fits)."""

    @property
    def topic(self) -> str: ...

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes: ...

    @property
    def header_list(self) -> list[tuple[str, bytes]]:
        """Every header as it came off the wire, in order, including the signature's."""
        ...

    @property
    def source(self) -> str:
        """The agency the message claims as its source (``ce_source``)."""
        ...


@runtime_checkable
class Verifier(Protocol):
    """Checks one received message; raises ``SecurityError`` when it must not be trusted.

    Missing signature, unknown key, a signature that does not cover this topic, key, value
    and headers, or a signer that is not the claimed source: all raise ``SecurityError``
    (the consumer loop dead-letters the message and never hands it to a sink). A verifier
    that cannot decide for now (key service down) raises a retriable error instead.
    """

    def verify(self, message: SignedMessage) -> None: ...
