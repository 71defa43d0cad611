"""Ed25519 signing and verifying: libsodium (PyNaCl), the one backend, behind this boundary.

Measured on the project machine (docs/benchmarks.md, "Signatures"): libsodium verifies a
bus message's signed bytes (~1.6 kB) in ~47 µs of CPU and signs in ~21 µs, where
OpenSSL through ``cryptography`` took ~97 and ~32 µs; verification was most of a
receiver's read step. Ed25519 signatures are deterministic (RFC 8032): the same key
signs the same bytes alike in either library, and in a partner's (the Java kit's JDK
EdDSA), so nothing on the wire changes.

The key files stay ``cryptography``'s (PKCS#8 PEM, ``runtime.signing_keys``); a key
crosses this boundary once, as its raw bytes, when a signer or verifier is built.
libsodium refuses somewhat more than OpenSSL: a public key of small order (for which
anyone could forge) or a signature whose R is of small order; an honest signer never
makes either.

The calls release the GIL (cffi), so other threads run during one.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.bindings import (
    crypto_core_ed25519_is_valid_point,
    crypto_sign,
    crypto_sign_BYTES,
    crypto_sign_open,
    crypto_sign_seed_keypair,
)
from nacl.exceptions import BadSignatureError

#: The length of every Ed25519 signature.
SIGNATURE_BYTES: int = crypto_sign_BYTES


def raw_public_key(public: Ed25519PublicKey) -> bytes:
    """The 32 bytes of a public key (the agreement's form, before base64)."""
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def secret_key(private: Ed25519PrivateKey) -> bytes:
    """libsodium's 64-byte secret key (seed and public key) of ``private``."""
    seed = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    _public, secret = crypto_sign_seed_keypair(seed)
    return secret


def is_valid_public_key(raw: bytes) -> bool:
    """Whether 32 bytes are a usable public key: a canonical point of the main subgroup,
    not of small order (against such a key signatures can be forged, and libsodium never
    verifies one)."""
    return len(raw) == 32 and bool(crypto_core_ed25519_is_valid_point(raw))


def sign(secret: bytes, payload: bytes) -> bytes:
    """The 64-byte signature of ``payload`` under ``secret`` (from ``secret_key``)."""
    # crypto_sign returns signature + payload; the detached call is not in PyNaCl's API.
    return crypto_sign(payload, secret)[:SIGNATURE_BYTES]


def valid(public: bytes, signature: bytes, payload: bytes) -> bool:
    """Whether ``signature`` is the signature of ``payload`` by the key ``public`` (raw)."""
    if len(signature) != SIGNATURE_BYTES:
        # Checked here: crypto_sign_open reads the first 64 bytes of what it is given as
        # the signature, so a shorter one would take bytes of the payload for its own.
        return False
    try:
        crypto_sign_open(signature + payload, public)
    except BadSignatureError:
        return False
    return True
