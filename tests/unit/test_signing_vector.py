"""docs/signing.md's test vector: runtime.signing produces exactly the published bytes."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runtime.signing import AgreementVerifier, Ed25519Signer, signed_bytes
from runtime.signing_keys import key_id, public_key_text

SIGNING_DOC = Path(__file__).resolve().parents[2] / "docs" / "signing.md"

SEED = bytes(range(32))
TOPIC = "hx.alerts.person"
KEY = b"0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31"
VALUE = bytes.fromhex("c30158cb2ffb0e0aa5990204")
HEADERS = [
    ("ce_specversion", b"1.0"),
    ("ce_id", b"6f1c1d7e-2b1a-4c55-9a51-0c7e3f4f9a10"),
    ("ce_source", b"320300000000"),
    ("ce_type", b"PersonAlert"),
    ("ce_time", b"2026-11-20T01:15:02.000Z"),
    ("content-type", b"application/avro"),
    ("ce_correlationid", b"0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31"),
]


def _block(kind: str) -> str:
    """The fenced block of the document tagged ``kind``."""
    found = re.search(rf"```{kind}\n(.*?)\n```", SIGNING_DOC.read_text(encoding="utf-8"), re.S)
    assert found is not None, f"docs/signing.md has no ```{kind} block"
    return found.group(1)


def _key() -> Ed25519PrivateKey:
    pem = re.search(
        r"-----BEGIN PRIVATE KEY-----.*?-----END PRIVATE KEY-----\n",
        SIGNING_DOC.read_text(encoding="utf-8"),
        re.S,
    )
    assert pem is not None
    key = serialization.load_pem_private_key(pem.group(0).encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def test_published_pem_is_the_published_seed() -> None:
    """The PEM in the document holds the seed 00..1f, whose public key is the one shown."""
    key = _key()
    assert (SEED, "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=", "56475aa75463474c") == (
        key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        ),
        public_key_text(key.public_key()),
        key_id(key.public_key()),
    )


def test_signed_bytes_are_the_published_hex() -> None:
    """signed_bytes() of the vector's message is the document's hex, byte for byte."""
    expected = bytes.fromhex("".join(_block("signed-bytes").split()))
    assert expected == signed_bytes(TOPIC, KEY, VALUE, HEADERS, "56475aa75463474c")


def test_signer_adds_the_published_headers() -> None:
    """The signer's headers for the vector are the document's hx_signature and hx_key_id."""
    published = dict(line.split(": ", 1) for line in _block("signature").splitlines())
    signer = Ed25519Signer("320300000000", Ed25519PrivateKey.from_private_bytes(SEED))
    actual = {name: value.decode() for name, value in signer.sign(TOPIC, KEY, VALUE, HEADERS)}
    assert published == actual


class _Message:
    topic = TOPIC
    key: bytes | None = KEY
    value = VALUE
    source = "320300000000"

    def __init__(self, header_list: list[tuple[str, bytes]]) -> None:
        self.header_list = header_list


def test_published_signature_verifies_in_any_header_order() -> None:
    """The vector, headers reversed, verifies against the published public key."""
    published = dict(line.split(": ", 1) for line in _block("signature").splitlines())
    public = Ed25519PrivateKey.from_private_bytes(SEED).public_key()
    verifier = AgreementVerifier({"56475aa75463474c": ("320300000000", public)}, role="test")
    signed = [*reversed(HEADERS), *((n, v.encode()) for n, v in published.items())]
    verifier.verify(_Message(signed))  # raises SecurityError if it does not verify
    assert 64 == len(base64.b64decode(published["hx_signature"], validate=True))
