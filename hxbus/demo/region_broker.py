"""The demo's broker: the one at HX_BOOTSTRAP when it answers as wanted, else one of its
own (stopped after); then the agreement's topics, logins and ACLs provisioned on it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hxbus import broker
from runtime import Settings, run_provisioning
from runtime.access import run_access_provisioning
from runtime.kafka import broker_answers
from runtime.secrets import secrets_dir
from schemas import Agreement
from schemas.errors import ConfigError


@contextmanager
def region_broker(
    settings: Settings,
    root: Path,
    *,
    plain: bool,
    operator_state: Path,
    say: Callable[[str], None],
) -> Iterator[Settings]:
    """The broker at HX_BOOTSTRAP if it answers as wanted (plain, or secured with the
    settings' super-user login); else one of our own under ``<root>/.state/broker``,
    stopped after. Yields the settings that reach it."""
    logged_in = settings.effective_security_protocol.startswith("SASL_")
    if logged_in != plain and broker_answers(settings):
        kind = "plain development" if plain else "secured"
        say(f"using the {kind} Kafka broker at {settings.bootstrap}")
        if not plain:
            keep_operator_passwords(operator_state, settings.state_dir)
        yield settings
        return
    state = root / ".state" / "broker"
    port = free_port_pair(broker.bootstrap_port(settings.bootstrap))
    kind = "plain, development only" if plain else "secured: SASL/SCRAM logins, ACLs"
    say(f"starting a Kafka broker (KRaft, one node, {kind}) — about 10 s")
    cluster = broker.start_cluster(state, nodes=1, port=port, secure=not plain)
    ours = broker.admin_settings(cluster).model_copy(
        update={
            "agreement": settings.agreement,
            "state_dir": settings.state_dir,
            "metrics_host": settings.metrics_host,
        }
    )
    say(f"Kafka runs at {cluster.bootstrap} (state in {state})")
    try:
        yield ours
    finally:
        say("stopping the demo's Kafka broker")
        broker.stop_cluster(state)


def keep_operator_passwords(operator_state: Path, state_dir: Path) -> None:
    """On a secured broker we did not start, provision with the passwords its operator
    already issued (``HX_STATE_DIR/secrets``): otherwise every login the demo finds
    without a password file here would be given a new password, locking out whoever
    uses it."""
    source = secrets_dir(operator_state)
    if not source.is_dir():
        return
    target = secrets_dir(state_dir)
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o700)
    for secret in source.glob("scram-*.password"):
        shutil.copy2(secret, target / secret.name)  # keeps the 0600 mode


def provision_region(
    settings: Settings, agreement: Agreement, *, plain: bool, say: Callable[[str], None]
) -> None:
    """Topics; on a secured broker also a SCRAM login and the ACLs of every agency,
    bridge and auditor (passwords under the settings' state directory)."""
    say(f"provisioning topics on {settings.bootstrap}")
    run_provisioning(settings, agreement)
    if plain:
        return
    access = run_access_provisioning(settings, agreement)
    if access is None:
        raise ConfigError(
            f"the broker at {settings.bootstrap} has no authorizer: not a secured "
            "broker (hxbus demo --plain runs on a plain development broker)"
        )
    say(
        f"logins and ACLs for {len(agreement.agencies)} agencies, "
        f"{len(agreement.provinces)} bridges and the auditor"
    )


def free_port_pair(port: int) -> int:
    """``port`` if it and ``port + 1`` are free, else the next such even step above it."""
    for candidate in range(port, port + 400, 2):
        if not broker.port_in_use(candidate) and not broker.port_in_use(candidate + 1):
            return candidate
    raise ConfigError(f"no free pair of ports from {port} on for the demo's broker")
