"""``hxbus broker start --secure``: SASL/SCRAM listeners, the KRaft authorizer, the admin.

What a secured node looks like, and why:

- clients connect on ``SASL://127.0.0.1:<port>`` (SASL_PLAINTEXT, SCRAM-SHA-512); the
  brokers talk to each other on the same listener as the super-user ``admin``;
- the controller quorum listens on ``CONTROLLER`` with SASL PLAIN (SCRAM cannot work
  there: its credentials live in the metadata log the controllers serve), the same
  ``admin`` principal, its password in the node's JAAS line (so ``server.properties`` is
  written 0600);
- ``StandardAuthorizer`` with ``super.users=User:admin`` and
  ``allow.everyone.if.no.acl.found=false``: an agency can do exactly what
  ``hxbus provision`` granted it, nothing else;
- ``admin``'s SCRAM credential is bootstrapped when the storage is formatted
  (``--add-scram``), before any broker runs; the agencies' come later, through the admin
  API (``hxbus provision``);
- ``--plain-port P`` adds a ``PLAIN://127.0.0.1:P`` PLAINTEXT listener for local tools
  that do not speak SASL. Its principal is ``ANONYMOUS``, made a super-user: the port is
  a development convenience on loopback, and asking for it says so.

The admin password is generated at the first secure start and kept in
``<broker root>/secrets/admin.password`` (0600).

``--tls`` (see ``broker.tls``) turns both SASL listeners into SASL_SSL: the same SCRAM
and PLAIN logins, inside TLS with the local CA's broker certificate; brokers and
controllers verify each other's certificate (SAN 127.0.0.1) as clients do.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from hxbus.broker.layout import HOST, Cluster, Node
from hxbus.broker.tls import ensure_tls, ssl_properties, tls_files
from runtime import Settings
from runtime.secrets import ensure_secret, read_secret

ADMIN_USER = "admin"
MECHANISM = "SCRAM-SHA-512"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
_SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule"
_PLAIN_LOGIN = "org.apache.kafka.common.security.plain.PlainLoginModule"


def admin_password_file(root: Path) -> Path:
    return root / "secrets" / "admin.password"


def ensure_admin_password(root: Path) -> str:
    """The cluster's admin password, generated and stored (0600) at the first secure start."""
    return ensure_secret(admin_password_file(root))


def security_protocol(cluster: Cluster) -> str:
    """What a client speaks to the cluster's client listener."""
    if not cluster.secure:
        return "PLAINTEXT"
    return "SASL_SSL" if cluster.tls else "SASL_PLAINTEXT"


def ca_file(cluster: Cluster) -> Path | None:
    """The CA certificate clients trust (HX_SSL_CAFILE) of a TLS cluster, else None."""
    return tls_files(cluster.root).ca_cert if cluster.tls else None


def admin_settings(cluster: Cluster) -> Settings:
    """Settings that reach ``cluster`` as its super-user (secure) or plainly (not secure)."""
    if not cluster.secure:
        return Settings(bootstrap=cluster.bootstrap, sasl_username=None)
    password = SecretStr(read_secret(admin_password_file(cluster.root)))
    return Settings(
        bootstrap=cluster.bootstrap,
        sasl_username=ADMIN_USER,
        sasl_password=password,
        security_protocol=security_protocol(cluster),
        ssl_cafile=ca_file(cluster),
    )


def ensure_secure_files(cluster: Cluster) -> None:
    """The admin password and (``--tls``) the CA, certificate and keystore, made once."""
    ensure_admin_password(cluster.root)
    if cluster.tls:
        ensure_tls(cluster.root)


def secure_properties(cluster: Cluster, node: Node, password: str) -> dict[str, str]:
    """The keys a secured node adds to (or changes in) ``layout.server_properties``."""
    listeners = [
        f"SASL://{HOST}:{node.broker_port}",
        f"CONTROLLER://{HOST}:{node.controller_port}",
    ]
    advertised = [f"SASL://{HOST}:{node.broker_port}"]
    sasl = security_protocol(cluster)
    protocols = [f"SASL:{sasl}", f"CONTROLLER:{sasl}"]
    super_users = [f"User:{ADMIN_USER}"]
    plain_port = cluster.plain_port_of(node)
    if plain_port is not None:
        listeners.append(f"PLAIN://{HOST}:{plain_port}")
        advertised.append(f"PLAIN://{HOST}:{plain_port}")
        protocols.append("PLAIN:PLAINTEXT")
        super_users.append("User:ANONYMOUS")
    scram_jaas = f'{_SCRAM_LOGIN} required username="{ADMIN_USER}" password="{password}";'
    plain_jaas = (
        f'{_PLAIN_LOGIN} required username="{ADMIN_USER}" password="{password}" '
        f'user_{ADMIN_USER}="{password}";'
    )
    properties = {
        "listeners": ",".join(listeners),
        "advertised.listeners": ",".join(advertised),
        "listener.security.protocol.map": ",".join(protocols),
        "inter.broker.listener.name": "SASL",
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "listener.name.sasl.scram-sha-512.sasl.jaas.config": scram_jaas,
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": plain_jaas,
        "authorizer.class.name": AUTHORIZER,
        "super.users": ";".join(super_users),
        "allow.everyone.if.no.acl.found": "false",
    }
    if cluster.tls:
        files = tls_files(cluster.root)
        properties.update(ssl_properties(files, read_secret(files.password_file)))
    return properties


def format_arguments(cluster: Cluster) -> list[str]:
    """Extra ``StorageTool format`` arguments: the admin's SCRAM credential (secure only)."""
    if not cluster.secure:
        return []
    password = read_secret(admin_password_file(cluster.root))
    return ["--add-scram", f"{MECHANISM}=[name={ADMIN_USER},password={password}]"]
