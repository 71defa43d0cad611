"""Signing and verifying every message on the bus (design.md, Security).

Producers call a ``Signer`` on the exact bytes that go to Kafka — after routing, keying,
encoding and the envelope headers are fixed — and append the headers it returns
(``hx_signature``, ``hx_key_id``). Consumers hand each received message to a ``Verifier``.
The two Protocols are the shape ``producers`` and ``consumers`` code against, so that
they never import each other; below them, the Ed25519 implementation (its primitives are
libsodium's, behind ``runtime.ed25519``):

- the signature covers topic, key, value, the key id and every header but its own and the
  replay's (``signed_bytes``: length-prefixed, headers sorted), so a message re-routed,
  re-keyed, with a byte or a header (id, source, type, time, target, ...) changed, fails;
- the verifier knows the agreement's public keys by key id, and refuses a signature made
  with a key of another agency than the claimed ``ce_source``: A cannot speak as B;
- an agency may list two keys during a changeover; either verifies.

Which signer and verifier each role gets from its key files and the agreement:
``runtime.signers``.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from runtime import ed25519
from runtime.metrics import SIGNATURE_FAILURES
from runtime.signing_keys import key_id
from schemas.errors import SecurityError


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


# -- Ed25519 ---------------------------------------------------------------------------------

#: The headers a signer adds. Left out of what is signed (they cannot sign themselves),
#: except that ``hx_key_id`` is bound into the signed bytes on its own.
SIGNATURE_HEADER = "hx_signature"
KEY_ID_HEADER = "hx_key_id"
#: Headers never covered: the signature's own and those a DLQ replay appends.
UNSIGNED_HEADERS: frozenset[str] = REPLAY_HEADERS | {SIGNATURE_HEADER, KEY_ID_HEADER}
#: Names this format; a signature made for anything else can never verify as one of ours.
_DOMAIN = b"hxbus-signature-v1"
_SOURCE_HEADER = "ce_source"
#: A length as 4 bytes big-endian, and the domain as its first field of the signed bytes.
_u32 = struct.Struct(">I").pack
_DOMAIN_FIELD = _u32(len(_DOMAIN)) + _DOMAIN

#: The ``reason`` label values of ``hx_signature_failures_total`` (a closed set): unsigned,
#: malformed, unknown_key, wrong_source, bad_signature.


def signed_bytes(
    topic: str,
    key: bytes | None,
    value: bytes,
    headers: Iterable[tuple[str, bytes]],
    key_id: str,
) -> bytes:
    """The canonical bytes a signature covers.

    Every field is length-prefixed (4 bytes, big-endian), so no two different messages
    encode alike (no "topic a.b + key c" = "topic a + key .bc"). Headers are taken by
    (name, value) in sorted order, so a re-ordering on the way does not matter, while any
    added, removed or altered header does; those in ``UNSIGNED_HEADERS`` are skipped. A
    missing key counts as empty (the Publisher always keys).
    """
    covered = sorted((name, value) for name, value in headers if name not in UNSIGNED_HEADERS)
    # One join of the parts, not a growing buffer: the same bytes in a third of the time,
    # once per message signed or verified (docs/benchmarks.md, the publish profile).
    topic_bytes, key_bytes, kid = topic.encode(), key or b"", key_id.encode()
    parts = [
        _DOMAIN_FIELD,
        _u32(len(topic_bytes)),
        topic_bytes,
        _u32(len(key_bytes)),
        key_bytes,
        _u32(len(value)),
        value,
        _u32(len(kid)),
        kid,
        _u32(len(covered)),
    ]
    for name, header_value in covered:
        encoded = name.encode()
        parts += (_u32(len(encoded)), encoded, _u32(len(header_value)), header_value)
    return b"".join(parts)


def _header(headers: Iterable[tuple[str, bytes]], name: str) -> bytes | None:
    found = [value for key, value in headers if key == name]
    if len(found) > 1:
        raise SecurityError(f"{name}: appears {len(found)} times; a message is signed once")
    return found[0] if found else None


class Ed25519Signer:
    """Signs the messages of one agency with its private key.

    A message whose ``ce_source`` is another agency is refused (``SecurityError``): an
    agency signs only what it speaks for.
    """

    def __init__(self, agency: str, private_key: Ed25519PrivateKey) -> None:
        self.agency = agency
        self._secret = ed25519.secret_key(private_key)
        self.key_id = key_id(private_key.public_key())

    def sign(
        self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
    ) -> list[tuple[str, bytes]]:
        source = _header(headers, _SOURCE_HEADER)
        if source != self.agency.encode():
            claimed = source.decode("utf-8", "replace") if source else "none"
            raise SecurityError(
                f"{_SOURCE_HEADER}: is {claimed}, but this signer holds the key of {self.agency}"
            )
        payload = signed_bytes(topic, key, value, headers, self.key_id)
        signature = ed25519.sign(self._secret, payload)
        return [
            (SIGNATURE_HEADER, base64.b64encode(signature)),
            (KEY_ID_HEADER, self.key_id.encode()),
        ]


class AgencySigners:
    """Signs each message with the key of its ``ce_source`` (synthetic traffic of many)."""

    def __init__(self, signers: Mapping[str, Signer]) -> None:
        self._signers = dict(signers)

    def sign(
        self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
    ) -> list[tuple[str, bytes]]:
        source = (_header(headers, _SOURCE_HEADER) or b"").decode("utf-8", "replace")
        signer = self._signers.get(source)
        if signer is None:
            raise SecurityError(f"{_SOURCE_HEADER}: no private key of agency {source or 'none'}")
        return signer.sign(topic, key, value, headers)


@dataclass(frozen=True, slots=True)
class _Known:
    agency: str
    #: The raw 32 bytes (``runtime.ed25519``).
    public_key: bytes


class AgreementVerifier:
    """Verifies messages against the public keys of the agreement.

    A message must carry ``hx_signature`` and ``hx_key_id``; the key id must be one the
    agreement lists; the agency that lists it must be the claimed source (``ce_source``);
    and the signature must cover exactly this topic, key, value and headers. Every refusal
    is a ``SecurityError`` that says which of these failed, and is counted in
    ``hx_signature_failures_total`` by ``role`` and reason.
    """

    def __init__(self, keys: Mapping[str, tuple[str, Ed25519PublicKey]], role: str) -> None:
        self._keys = {
            kid: _Known(agency, ed25519.raw_public_key(public))
            for kid, (agency, public) in keys.items()
        }
        self._role = role

    def verify(self, message: SignedMessage) -> None:
        try:
            self._check(message)
        except _Refused as refused:
            SIGNATURE_FAILURES.labels(self._role, refused.label).inc()
            raise SecurityError(f"{message.topic}: {refused.text}") from None

    def _check(self, message: SignedMessage) -> None:
        headers = message.header_list
        try:
            signature_b64 = _header(headers, SIGNATURE_HEADER)
            raw_key_id = _header(headers, KEY_ID_HEADER)
        except SecurityError as exc:
            raise _Refused("malformed", str(exc)) from None
        if not signature_b64 or not raw_key_id:
            missing = SIGNATURE_HEADER if not signature_b64 else KEY_ID_HEADER
            raise _Refused("unsigned", f"{missing}: absent; every message must be signed")
        kid = raw_key_id.decode("ascii", "replace")
        known = self._keys.get(kid)
        if known is None:
            raise _Refused(
                "unknown_key", f"{KEY_ID_HEADER}: {kid[:40]!r} is no key of the agreement"
            )
        if known.agency != message.source:
            raise _Refused(
                "wrong_source",
                f"{KEY_ID_HEADER}: signed with a key of {known.agency}, "
                f"but ce_source claims {message.source}",
            )
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except ValueError:
            raise _Refused("malformed", f"{SIGNATURE_HEADER}: not base64") from None
        payload = signed_bytes(message.topic, message.key, message.value, headers, kid)
        if not ed25519.valid(known.public_key, signature, payload):
            raise _Refused(
                "bad_signature",
                f"{SIGNATURE_HEADER}: does not match topic, key, value and headers "
                f"(tampered, or re-routed) for key {kid} of {known.agency}",
            ) from None


class _Refused(Exception):
    def __init__(self, label: str, text: str) -> None:
        self.label = label
        self.text = text
