"""Files hxbus ships or points at: the packaged agreement, HX_KAFKA_DIR."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hxbus.broker.jars import CHECKOUT_KAFKA_DIR, kafka_dir
from runtime.signing_keys import add_public_key, public_key_text
from schemas import DEFAULT_AGREEMENT_PATH, load_agreement
from schemas.errors import ConfigError

REPOSITORY = Path(__file__).resolve().parents[2]


def test_the_packaged_agreement_is_deploy_agencies_toml() -> None:
    """In a checkout, the packaged default agreement is deploy/agencies.toml itself."""
    assert (REPOSITORY / "deploy" / "agencies.toml").resolve() == DEFAULT_AGREEMENT_PATH.resolve()


def test_kafka_dir_defaults_to_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without HX_KAFKA_DIR the broker's jars live in the checkout's deploy/kafka."""
    monkeypatch.delenv("HX_KAFKA_DIR", raising=False)
    assert REPOSITORY / "deploy" / "kafka" == kafka_dir() == CHECKOUT_KAFKA_DIR


def test_kafka_dir_follows_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """HX_KAFKA_DIR names another folder with a pom."""
    (tmp_path / "pom.xml").write_text("<project/>")
    monkeypatch.setenv("HX_KAFKA_DIR", str(tmp_path))
    assert tmp_path == kafka_dir()


def test_kafka_dir_without_a_pom_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A folder without pom.xml is refused with the variable's name, not a later crash."""
    monkeypatch.setenv("HX_KAFKA_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match=f"HX_KAFKA_DIR: {tmp_path} has no pom.xml"):
        kafka_dir()


def test_a_key_written_through_a_symlink_keeps_the_symlink(tmp_path: Path) -> None:
    """``hxbus keys`` on the packaged symlink edits deploy/agencies.toml; the link stays."""
    deploy = tmp_path / "deploy" / "agencies.toml"
    deploy.parent.mkdir()
    deploy.write_bytes((REPOSITORY / "deploy" / "agencies.toml").read_bytes())
    link = tmp_path / "agencies.toml"
    link.symlink_to(os.path.relpath(deploy, link.parent))
    agency = next(iter(load_agreement(deploy).by_id))
    key = public_key_text(Ed25519PrivateKey.generate().public_key())
    add_public_key(link, agency, key)
    assert (True, True) == (link.is_symlink(), key in deploy.read_text(encoding="utf-8"))
