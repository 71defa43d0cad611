"""Fixtures every tier shares: the broker, settings, the agreement, unique names.

The broker is started only when a test asks for it (through ``kafka_bootstrap``,
``settings`` or ``admin``), so ``pytest tests/unit`` needs no Java. When no broker
answers at HX_BOOTSTRAP (default 127.0.0.1:9092), one node is started from the Maven
jars under pytest's temporary directory and stopped when the session ends. A broker test
never skips: if Kafka cannot be started, the whole run stops with the reason.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hxbus import broker
from runtime import Settings, open_admin
from runtime.kafka import Admin, broker_answers
from schemas import DEFAULT_AGREEMENT_PATH, Agreement, load_agreement
from schemas.errors import HxError

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap of a running broker: HX_BOOTSTRAP's if it answers, else one we start."""
    wanted = os.environ.get("HX_BOOTSTRAP", DEFAULT_BOOTSTRAP)
    if broker_answers(Settings(bootstrap=wanted)):
        yield wanted
        return
    root = tmp_path_factory.mktemp("kafka") / "broker"
    try:
        cluster = broker.start_cluster(
            root, nodes=1, port=broker.bootstrap_port(wanted), timeout=180
        )
    except (HxError, OSError) as exc:
        pytest.exit(f"Could not start Kafka broker: {exc}", returncode=3)
    try:
        yield cluster.bootstrap
    finally:
        broker.stop_cluster(root)


@pytest.fixture(scope="session")
def agreement() -> Agreement:
    """The repository's agreement (deploy/agencies.toml)."""
    return load_agreement(DEFAULT_AGREEMENT_PATH)


@pytest.fixture
def settings(kafka_bootstrap: str, tmp_path: Path) -> Settings:
    """Settings that reach the test broker, with this test's own state directory."""
    return Settings(
        bootstrap=kafka_bootstrap, agreement=DEFAULT_AGREEMENT_PATH, state_dir=tmp_path / "state"
    )


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[..., str]:
    """``unique_name()`` -> ``t-<test name>-<uuid8>``; ``unique_name("g")`` for a group.

    Lowercase, and only characters valid in Kafka topic names and the agreement's.
    """
    test = re.sub(r"[^a-z0-9.-]+", "-", request.node.name.lower()).strip("-")[:60]

    def make(prefix: str = "t") -> str:
        return f"{prefix}-{test}-{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture(scope="session")
def admin(kafka_bootstrap: str) -> Iterator[Admin]:
    """An admin client (``runtime.kafka.Admin``) connected to the test broker."""
    client = open_admin(Settings(bootstrap=kafka_bootstrap))
    try:
        yield client
    finally:
        client.close()
