"""A secured one-node cluster of a test's own, provisioned from an agreement in which every
agency and every province's bridge has an Ed25519 key (not a test module)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from own_broker_support import free_port_pair
from pydantic import SecretStr

from hxbus import broker
from runtime import Settings, run_provisioning
from runtime.access import run_access_provisioning
from runtime.secrets import password_file, read_secret
from runtime.signing_keys import (
    add_province_public_key,
    add_public_key,
    generate_key,
    public_key_text,
)
from schemas import DEFAULT_AGREEMENT_PATH, Agreement, bridge_principal, load_agreement


def keyed_agreement(state: Path) -> Path:
    """A copy of the repository's agreement (``state/agreement.toml``) listing a key of
    every agency and every bridge; the private keys under ``state/keys``."""
    path = state / "agreement.toml"
    shutil.copyfile(DEFAULT_AGREEMENT_PATH, path)
    agreement = load_agreement(path)
    for agency in agreement.agencies:
        public = generate_key(state, agency.id).public_key()
        add_public_key(path, agency.id, public_key_text(public))
    for province in agreement.provinces:
        public = generate_key(state, bridge_principal(province)).public_key()
        add_province_public_key(path, province, public_key_text(public))
    return path


@contextmanager
def secured_cluster(state: Path, agreement: Agreement | None = None) -> Iterator[Settings]:
    """Admin settings of a secured cluster whose state (secrets, keys) is ``state``,
    provisioned from the keyed agreement (``settings.agreement``); stopped afterwards."""
    state.mkdir(parents=True, exist_ok=True)
    path = keyed_agreement(state)
    agreement = agreement or load_agreement(path)
    root = state / "broker"
    cluster = broker.start_cluster(root, nodes=1, port=free_port_pair(), secure=True, timeout=180)
    try:
        admin = broker.admin_settings(cluster).model_copy(
            update={"state_dir": state, "agreement": path}
        )
        run_provisioning(admin, load_agreement(path))
        assert run_access_provisioning(admin, load_agreement(path)) is not None
        yield admin
    finally:
        broker.stop_cluster(root)


def login(admin: Settings, user: str) -> Settings:
    """Settings of ``user`` with its provisioned password, the same agreement and state."""
    secret = read_secret(password_file(admin.state_dir, user))
    return admin.model_copy(update={"sasl_username": user, "sasl_password": SecretStr(secret)})


def login_env(settings: Settings) -> dict[str, str]:
    """The HX_ variables of ``settings``, for a command run in a subprocess or by main()."""
    env = {
        "HX_BOOTSTRAP": settings.bootstrap,
        "HX_STATE_DIR": str(settings.state_dir),
        "HX_AGREEMENT": str(settings.agreement),
    }
    if settings.sasl_username and settings.sasl_password:
        env["HX_SASL_USERNAME"] = settings.sasl_username
        env["HX_SASL_PASSWORD"] = settings.sasl_password.get_secret_value()
    return env
