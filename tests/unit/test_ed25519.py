"""runtime.ed25519 (libsodium): the same signatures as the key files' library, and refusals."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runtime import ed25519
from runtime.signing_keys import parse_public_key
from schemas.errors import ConfigError

#: Encodings of points of small order: the neutral element (0, 1) and (0, -1).
SMALL_ORDER = [bytes([1]) + bytes(31), bytes.fromhex("ec" + "ff" * 30 + "7f")]


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_signature_is_byte_for_byte_the_one_openssl_makes(key: Ed25519PrivateKey) -> None:
    """Ed25519 is deterministic: libsodium signs what cryptography (OpenSSL) signs alike."""
    payloads = [b"", os.urandom(1), os.urandom(1569), os.urandom(70_000)]
    expected = [key.sign(payload) for payload in payloads]
    secret = ed25519.secret_key(key)
    assert expected == [ed25519.sign(secret, payload) for payload in payloads]


def test_a_signature_made_by_openssl_verifies(key: Ed25519PrivateKey) -> None:
    """A signature made with the key files' library (as a partner's would be) verifies."""
    payload = os.urandom(1569)
    public = ed25519.raw_public_key(key.public_key())
    assert True is ed25519.valid(public, key.sign(payload), payload)


def test_tampered_payload_other_key_and_short_signature_are_refused(
    key: Ed25519PrivateKey,
) -> None:
    """One flipped byte, another key, or a signature not 64 bytes long does not verify."""
    payload = os.urandom(200)
    signature = key.sign(payload)
    public = ed25519.raw_public_key(key.public_key())
    other = ed25519.raw_public_key(Ed25519PrivateKey.generate().public_key())
    tampered = bytes([payload[0] ^ 1]) + payload[1:]
    # The signature without its last byte, the payload's first byte moved into it: the
    # same 64 + n bytes libsodium would be handed if the length were not checked.
    shifted = (signature[:-1], signature[-1:] + payload)
    assert [False, False, False, False] == [
        ed25519.valid(public, signature, tampered),
        ed25519.valid(other, signature, payload),
        ed25519.valid(public, *shifted),
        ed25519.valid(public, signature + b"\0", payload),
    ]


@pytest.mark.parametrize("raw", SMALL_ORDER)
def test_public_key_of_small_order_is_refused_in_the_agreement(raw: bytes) -> None:
    """A listed key of small order (anyone could forge for it) is a ConfigError at start."""
    text = base64.b64encode(raw).decode()
    with pytest.raises(ConfigError) as refused:
        parse_public_key(text, "agency 320300000000: public_keys[0]")
    assert (
        "agency 320300000000: public_keys[0]: not a valid Ed25519 public key "
        "(not a point of its group)"
    ) == str(refused.value)


def test_generated_public_keys_are_valid(key: Ed25519PrivateKey) -> None:
    """Every honestly generated public key passes the agreement's point check."""
    assert True is ed25519.is_valid_public_key(ed25519.raw_public_key(key.public_key()))
