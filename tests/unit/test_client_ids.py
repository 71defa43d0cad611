"""Kafka client ids name the role and worker (hxbus-bridge-JS-1, hxbus-tracker)."""

from __future__ import annotations

import pytest

from runtime import Settings, for_role, role_client_id
from runtime.kafka.kafka_python import consumer_config, producer_config


def test_role_client_id_with_and_without_worker() -> None:
    """A role alone is hxbus-<role>; with a worker, hxbus-<role>-<worker>."""
    assert ("hxbus-tracker", "hxbus-bridge-JS-1") == (
        role_client_id("tracker"),
        role_client_id("bridge-JS", 1),
    )


def test_factories_use_the_role_client_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """Producers and consumers built from for_role settings carry the role's client id."""
    monkeypatch.delenv("HX_CLIENT_ID", raising=False)
    settings = for_role(Settings(), "bridge-SD", 2)
    assert ("hxbus-bridge-SD-2", "hxbus-bridge-SD-2") == (
        producer_config(settings)["client_id"],
        consumer_config(settings)["client_id"],
    )


def test_explicit_client_id_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    """HX_CLIENT_ID set by the operator is kept as it is."""
    monkeypatch.setenv("HX_CLIENT_ID", "bureau-gateway")
    assert "bureau-gateway" == for_role(Settings(), "publish").client_id


def test_role_id_is_refined(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command's role id (hxbus-bridge) is replaced by the worker's (hxbus-bridge-JS-1)."""
    monkeypatch.delenv("HX_CLIENT_ID", raising=False)
    assert "hxbus-bridge-JS-1" == for_role(for_role(Settings(), "bridge"), "bridge-JS", 1).client_id
