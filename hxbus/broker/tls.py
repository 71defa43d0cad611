"""``hxbus broker start --secure --tls``: a local CA, the broker's certificate, its keystore.

Why a local CA: it lets development, CI and the tests run the very listener production
runs (SASL_SSL, SCRAM-SHA-512 inside TLS) without anyone's PKI. Production replaces it
by the bureau's PKI (see docs/security.md "TLS"): the files below are what it supplies.

Files, under ``<broker root>/tls/`` (made once, kept across restarts)::

    ca.pem          the CA certificate: what clients trust (HX_SSL_CAFILE)     0644
    ca.key          the CA private key                                          0600
    broker.pem      the brokers' certificate, SAN DNS:localhost, IP:127.0.0.1   0644
    broker.key      its private key (PKCS#8 PEM)                                0600
    broker.p12      key + chain as PKCS#12, the keystore the JVM reads          0600

The keystore's password is ``<broker root>/secrets/keystore.password`` (0600), copied
into ``server.properties`` (0600 on a secured cluster). PKCS#12 rather than Kafka's PEM
keystore: Kafka reads a PEM key *file* only when it is encrypted, and the JVM's support
for the PBES2 schemes ``cryptography`` writes is surer inside PKCS#12. The truststore is
``ca.pem`` itself (``ssl.truststore.type=PEM``). Every node shares one certificate: all
of them listen on 127.0.0.1.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from runtime.secrets import ensure_secret, write_atomically
from schemas.errors import ConfigError

#: Names the broker certificate is valid for: what clients dial (HOST of ``layout``).
DNS_NAMES = ("localhost",)
IP_ADDRESSES = ("127.0.0.1",)
CA_DAYS = 3650
BROKER_DAYS = 825
_KEY_BITS = 2048
#: A broker certificate this close to its end is made anew at the next start.
_RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Where a cluster's TLS material lives (see the module docstring)."""

    directory: Path
    password_file: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def broker_cert(self) -> Path:
        return self.directory / "broker.pem"

    @property
    def broker_key(self) -> Path:
        return self.directory / "broker.key"

    @property
    def keystore(self) -> Path:
        return self.directory / "broker.p12"


def tls_files(root: Path) -> TlsFiles:
    """The TLS files of the cluster under ``root`` (the broker root)."""
    return TlsFiles(root / "tls", root / "secrets" / "keystore.password")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)


def make_ca(
    now: datetime.datetime | None = None, name: str = "hxbus local CA"
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A self-signed CA (CA flag set, may sign leaf certificates only), valid CA_DAYS."""
    now = now or _now()
    key = _new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_broker_certificate(
    ca_key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
    now: datetime.datetime | None = None,
    dns_names: tuple[str, ...] = DNS_NAMES,
    ip_addresses: tuple[str, ...] = IP_ADDRESSES,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A server (and inter-broker client) certificate signed by the CA, valid BROKER_DAYS,
    its SAN the names clients check the broker against (hostname checking stays on)."""
    now = now or _now()
    key = _new_key()
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hxbus broker")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=BROKER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _read_key(path: Path) -> rsa.RSAPrivateKey:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(f"{path}: mode {mode:o} lets others read a private key; chmod 600 it")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"{path}: expected an RSA private key")
    return key


def _broker_cert_usable(files: TlsFiles, ca_cert: x509.Certificate) -> bool:
    if not (files.broker_cert.exists() and files.broker_key.exists() and files.keystore.exists()):
        return False
    cert = x509.load_pem_x509_certificate(files.broker_cert.read_bytes())
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):  # another CA's, or a broken signature
        return False
    return cert.not_valid_after_utc - _now() > _RENEW_BEFORE


def ensure_tls(root: Path) -> TlsFiles:
    """The cluster's CA, broker certificate and keystore, made where missing (idempotent).

    An existing CA is kept (clients already trust it); the broker certificate is made
    anew only when absent, not signed by that CA, or within 30 days of its end. A
    ``ca.pem`` without ``ca.key`` is another PKI's (production): nothing is made, the
    keystore and its password must be there already (``_supplied``).
    """
    files = tls_files(root)
    files.directory.mkdir(parents=True, exist_ok=True)
    os.chmod(files.directory, 0o700)
    if files.ca_cert.exists() and not files.ca_key.exists():
        return _supplied(files)
    if files.ca_cert.exists():
        ca_key = _read_key(files.ca_key)
        ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    else:
        ca_key, ca_cert = make_ca()
        write_atomically(files.ca_key, _key_pem(ca_key), 0o600)
        write_atomically(files.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    password = ensure_secret(files.password_file)
    if not _broker_cert_usable(files, ca_cert):
        key, cert = make_broker_certificate(ca_key, ca_cert)
        keystore = pkcs12.serialize_key_and_certificates(
            b"kafka", key, cert, [ca_cert], serialization.BestAvailableEncryption(password.encode())
        )
        write_atomically(files.broker_key, _key_pem(key), 0o600)
        write_atomically(files.keystore, keystore, 0o600)
        write_atomically(files.broker_cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return files


def _supplied(files: TlsFiles) -> TlsFiles:
    """Files another PKI issued (the bureau's): checked for presence, never replaced."""
    for path in (files.keystore, files.password_file):
        if not path.exists():
            raise ConfigError(
                f"{files.ca_cert}: a CA without its key here is an external PKI's; its "
                f"broker keystore must be supplied too, {path} is missing"
            )
    return files


def ssl_properties(files: TlsFiles, password: str) -> dict[str, str]:
    """The ``ssl.*`` keys of a node: its keystore, the CA as truststore, hostname checks on
    (inter-broker and controller connections verify the SAN as clients do)."""
    return {
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(files.keystore),
        "ssl.keystore.password": password,
        "ssl.key.password": password,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(files.ca_cert),
        "ssl.endpoint.identification.algorithm": "https",
        "ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
    }
