"""``--secure --tls`` without a broker: the local CA, the broker certificate, the files,
the node's ssl properties, and the client settings that follow from HX_SSL_CAFILE."""

from __future__ import annotations

import datetime
import ipaddress
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pydantic import SecretStr

from hxbus import broker
from hxbus.broker.security import secure_properties
from hxbus.broker.tls import BROKER_DAYS, make_broker_certificate, make_ca
from runtime import Settings
from runtime.secrets import read_secret
from schemas.errors import ConfigError

NOW = datetime.datetime(2026, 11, 27, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def ca() -> tuple[object, x509.Certificate]:
    return make_ca(NOW)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ca_is_a_ca_that_signs_certificates_only(ca: tuple[object, x509.Certificate]) -> None:
    """The CA certificate has the CA flag (critical, no sub-CAs) and may sign certificates."""
    cert = ca[1]
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert (True, True, 0, True, False) == (
        constraints.critical,
        constraints.value.ca,
        constraints.value.path_length,
        usage.key_cert_sign,
        usage.digital_signature,
    )


def test_broker_certificate_names_loopback_and_is_no_ca(
    ca: tuple[object, x509.Certificate],
) -> None:
    """SAN: IP 127.0.0.1 and DNS localhost (what clients check); CA flag off; signed by the CA."""
    ca_key, ca_cert = ca
    _key, cert = make_broker_certificate(ca_key, ca_cert, NOW)  # type: ignore[arg-type]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    cert.verify_directly_issued_by(ca_cert)  # raises if not
    assert (
        [ipaddress.ip_address("127.0.0.1")],
        ["localhost"],
        False,
    ) == (
        san.get_values_for_type(x509.IPAddress),
        san.get_values_for_type(x509.DNSName),
        cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca,
    )


def test_broker_certificate_validity(ca: tuple[object, x509.Certificate]) -> None:
    """Valid from (just before) now for BROKER_DAYS days, and never beyond its CA."""
    ca_key, ca_cert = ca
    _key, cert = make_broker_certificate(ca_key, ca_cert, NOW)  # type: ignore[arg-type]
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    assert (True, BROKER_DAYS, True) == (
        start <= NOW < end,
        (end - NOW).days,
        end < ca_cert.not_valid_after_utc,
    )


def test_ensure_tls_writes_private_files_0600_once(tmp_path: Path) -> None:
    """Keys and keystore 0600, directory 0700, certificates 0644; a second run keeps them."""
    files = broker.ensure_tls(tmp_path)
    first = {p.name: p.read_bytes() for p in files.directory.iterdir()}
    broker.ensure_tls(tmp_path)
    second = {p.name: p.read_bytes() for p in files.directory.iterdir()}
    modes = {p.name: _mode(p) for p in files.directory.iterdir()}
    expected_modes = {
        "ca.key": 0o600,
        "broker.key": 0o600,
        "broker.p12": 0o600,
        "ca.pem": 0o644,
        "broker.pem": 0o644,
    }
    assert (expected_modes, 0o700, 0o600, first) == (
        modes,
        _mode(files.directory),
        _mode(files.password_file),
        second,
    )


def test_keystore_holds_the_broker_certificate_and_its_ca(tmp_path: Path) -> None:
    """The PKCS#12 keystore opens with the keystore password and carries key, cert, CA."""
    files = broker.ensure_tls(tmp_path)
    password = read_secret(files.password_file).encode()
    key, cert, chain = pkcs12.load_key_and_certificates(files.keystore.read_bytes(), password)
    expected = (
        x509.load_pem_x509_certificate(files.broker_cert.read_bytes()),
        [x509.load_pem_x509_certificate(files.ca_cert.read_bytes())],
    )
    assert (True, expected) == (key is not None, (cert, chain))


def test_broker_certificate_of_another_ca_is_made_anew(tmp_path: Path) -> None:
    """A CA replaced by the operator: the next start signs a new broker certificate with it."""
    files = broker.ensure_tls(tmp_path)
    old = files.broker_cert.read_bytes()
    files.ca_cert.unlink()
    files.ca_key.unlink()
    broker.ensure_tls(tmp_path)
    new = x509.load_pem_x509_certificate(files.broker_cert.read_bytes())
    new.verify_directly_issued_by(x509.load_pem_x509_certificate(files.ca_cert.read_bytes()))
    assert old != files.broker_cert.read_bytes()


def test_ca_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    files = broker.ensure_tls(tmp_path)
    files.ca_key.chmod(0o644)
    with pytest.raises(ConfigError, match=r"ca\.key: mode 644 lets others read a private key"):
        broker.ensure_tls(tmp_path)


def test_external_ca_is_never_replaced(tmp_path: Path) -> None:
    """ca.pem without ca.key is the bureau's PKI: kept as is, nothing generated."""
    files = broker.tls_files(tmp_path)
    files.directory.mkdir(parents=True)
    bureau_ca = make_ca(name="bureau CA")[1].public_bytes(serialization.Encoding.PEM)
    files.ca_cert.write_bytes(bureau_ca)
    with pytest.raises(ConfigError, match=r"external PKI.*broker\.p12 is missing"):
        broker.ensure_tls(tmp_path)
    assert (bureau_ca, False) == (files.ca_cert.read_bytes(), files.ca_key.exists())


def _tls_cluster(tmp_path: Path) -> broker.Cluster:
    cluster = broker.plan_cluster(tmp_path / "broker", nodes=1, port=9192, cluster_id="abc")
    return replace(cluster, secure=True, tls=True)


def test_tls_node_speaks_sasl_ssl_on_both_listeners(tmp_path: Path) -> None:
    """--tls: client and controller listeners SASL_SSL; keystore and CA truststore named."""
    cluster = _tls_cluster(tmp_path)
    files = broker.ensure_tls(cluster.root)
    props = secure_properties(cluster, cluster.nodes[0], "pw")
    expected = {
        "listener.security.protocol.map": "SASL:SASL_SSL,CONTROLLER:SASL_SSL",
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(files.keystore),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(files.ca_cert),
        "ssl.endpoint.identification.algorithm": "https",
    }
    assert expected == {key: props[key] for key in expected}


def test_cluster_json_round_trips_tls(tmp_path: Path) -> None:
    cluster = _tls_cluster(tmp_path)
    cluster.root.mkdir(parents=True)
    cluster.state_file.write_text(cluster.to_json())
    loaded = broker.load_cluster(cluster.root)
    assert (cluster, "SASL_SSL", cluster.root / "tls" / "ca.pem") == (
        loaded,
        broker.security_protocol(cluster),
        broker.ca_file(cluster),
    )


def test_tls_needs_secure(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--tls: only with --secure"):
        broker.start_cluster(tmp_path / "broker", tls=True)


# -- client settings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "cafile", "explicit", "protocol"),
    [
        (None, None, None, "PLAINTEXT"),
        ("a", None, None, "SASL_PLAINTEXT"),
        ("a", Path("/ca.pem"), None, "SASL_SSL"),
        (None, Path("/ca.pem"), None, "SSL"),
        ("a", None, "SASL_SSL", "SASL_SSL"),
    ],
)
def test_security_protocol_follows_user_and_ca(
    user: str | None, cafile: Path | None, explicit: str | None, protocol: str
) -> None:
    settings = Settings(
        sasl_username=user,
        sasl_password=SecretStr("pw"),
        ssl_cafile=cafile,
        security_protocol=explicit,  # type: ignore[arg-type]
    )
    assert protocol == settings.effective_security_protocol


def test_ssl_options_check_the_hostname_against_the_ca() -> None:
    """Over TLS every client gets the CA file and hostname checking, never without."""
    settings = Settings(sasl_username="a", sasl_password=SecretStr("pw"), ssl_cafile="/ca.pem")
    expected = {
        "security_protocol": "SASL_SSL",
        "ssl_cafile": "/ca.pem",
        "ssl_check_hostname": True,
        "sasl_plain_username": "a",
    }
    options = settings.kafka_security()
    assert expected == {key: options[key] for key in expected}


def test_ssl_cafile_and_protocol_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HX_SSL_CAFILE", "/etc/hx/ca.pem")
    monkeypatch.setenv("HX_SASL_USERNAME", "a")
    monkeypatch.setenv("HX_SASL_PASSWORD", "pw")
    settings = Settings()
    assert (Path("/etc/hx/ca.pem"), "SASL_SSL") == (
        settings.ssl_cafile,
        settings.effective_security_protocol,
    )


def test_sasl_protocol_without_a_user_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="security_protocol: SASL_SSL needs HX_SASL_USERNAME"):
        Settings(security_protocol="SASL_SSL")
