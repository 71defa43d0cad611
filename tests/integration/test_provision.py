"""Provisioning against the real broker: topics as the agreement says, idempotently.

Each test provisions its own copy of the agreement whose topic names carry a unique
prefix, so it neither meets nor disturbs the topics other tests use; the topics are
deleted afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runtime import (
    AddPartitions,
    AlterTopicConfig,
    CreateTopic,
    Settings,
    read_cluster_state,
    run_provisioning,
)
from runtime.kafka import Admin
from schemas import DEFAULT_AGREEMENT_PATH, Agreement, Topic, load_agreement


@pytest.fixture
def own_agreement(
    agreement: Agreement, unique_name: Callable[..., str], admin: Admin
) -> Iterator[Agreement]:
    """The repository's agreement with every topic name under a prefix of this test."""
    prefix = unique_name("p")
    topics = tuple(t.model_copy(update={"name": f"{prefix}.{t.name}"}) for t in agreement.topics)
    mine = agreement.model_copy(update={"topics": topics})
    yield mine
    existing = set(admin.list_topics())
    admin.delete_topics([name for name in mine.topic_names() if name in existing])


def _broker_count(admin: Admin) -> int:
    return sum(1 for b in admin.describe_cluster() if not b.fenced)


def test_second_provisioning_changes_nothing(settings: Settings, own_agreement: Agreement) -> None:
    """The first run creates every topic; the second finds nothing to do."""
    first = run_provisioning(settings, own_agreement)
    second = run_provisioning(settings, own_agreement)
    expected = (len(own_agreement.topic_names()), {CreateTopic}, ())
    assert expected == (
        len(first.actions),
        {type(action) for action in first.actions},
        second.actions,
    )


def test_topics_have_the_agreements_partitions_and_configs(
    settings: Settings, own_agreement: Agreement, admin: Admin
) -> None:
    """After provisioning each topic has the agreement's partitions, retention, cleanup
    policy, and replication / min ISR fitted to the brokers."""
    run_provisioning(settings, own_agreement)
    brokers = _broker_count(admin)
    replication = min(own_agreement.exchange.replication, brokers)
    min_isr = min(own_agreement.exchange.min_insync_replicas, replication)
    expected = {
        name: (
            topic.partitions,
            replication,
            {
                "cleanup.policy": topic.cleanup_policy,
                "min.insync.replicas": str(min_isr),
                "retention.ms": str(topic.retention_ms),
            },
        )
        for topic in own_agreement.topics
        for name in own_agreement.expand(topic)
    }
    state = read_cluster_state(admin, list(expected))
    actual = {
        name: (t.partitions, t.replication, dict(t.configs)) for name, t in state.topics.items()
    }
    assert expected == actual


def test_a_changed_agreement_grows_partitions_and_alters_configs(
    settings: Settings, own_agreement: Agreement, admin: Admin
) -> None:
    """More partitions and another retention in the agreement are applied on the next run."""
    run_provisioning(settings, own_agreement)
    audit = next(t for t in own_agreement.topics if t.name.endswith("hx.audit"))
    changed = Topic(
        name=audit.name,
        partitions=audit.partitions + 2,
        retention_ms=86_400_000,
        cleanup_policy=audit.cleanup_policy,
    )
    others = tuple(t for t in own_agreement.topics if t is not audit)
    plan = run_provisioning(
        settings, own_agreement.model_copy(update={"topics": (*others, changed)})
    )
    state = read_cluster_state(admin, [audit.name])
    expected = (
        [AddPartitions, AlterTopicConfig],
        audit.partitions + 2,
        "86400000",
    )
    assert expected == (
        [type(action) for action in plan.actions],
        state.topics[audit.name].partitions,
        state.topics[audit.name].configs["retention.ms"],
    )


def test_provision_command_reports_no_change_on_the_second_run(
    kafka_bootstrap: str, own_agreement: Agreement, tmp_path: Path
) -> None:
    """`hxbus provision` twice: the first prints the plan, the second "no change", both exit 0."""
    agreement_file = tmp_path / "agencies.toml"
    agreement_file.write_text(_agreement_toml(own_agreement), encoding="utf-8")
    env = {**os.environ, "HX_BOOTSTRAP": kafka_bootstrap, "HX_AGREEMENT": str(agreement_file)}
    command = [sys.executable, "-m", "hxbus", "provision"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    second = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    count = len(own_agreement.topic_names())
    verdict = f"no change: the {count} topics of the agreement are as it asks"
    second_lines = second.stdout.strip().splitlines()
    expected = (0, True, 0, True, [])
    assert expected == (
        first.returncode,
        f"plan ({count} actions):" in first.stdout,
        second.returncode,
        verdict in second_lines,
        [line for line in second_lines if line.startswith(("plan (", "applied"))],
    ), second.stdout + second.stderr


def _agreement_toml(agreement: Agreement) -> str:
    """The repository's agreement file with the test's topic names swapped in."""
    text = DEFAULT_AGREEMENT_PATH.read_text(encoding="utf-8")
    prefix = agreement.topics[0].name.removesuffix("hx.alerts.person")
    # Every topic of the agreement (the lookup topics too): a topic left unprefixed may
    # exist already on the shared broker, and the first run's plan would lack it.
    for topic in load_agreement(DEFAULT_AGREEMENT_PATH).topics:
        text = text.replace(f'name = "{topic.name}"', f'name = "{prefix}{topic.name}"')
    return text
