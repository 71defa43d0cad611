"""The provisioning plan, computed from the agreement and a plain ClusterState (no broker)."""

from __future__ import annotations

import pytest

from runtime import (
    AddPartitions,
    AlterTopicConfig,
    ClusterState,
    CreateTopic,
    TopicSpec,
    TopicState,
    fit_replication,
    plan_provisioning,
)
from schemas import Agreement, Topic


def _existing(agreement: Agreement, replication: int, min_isr: int) -> dict[str, TopicState]:
    """Every agreement topic present exactly as the agreement asks."""
    return {
        name: TopicState(
            topic.partitions,
            replication,
            {
                "cleanup.policy": topic.cleanup_policy,
                "min.insync.replicas": str(min_isr),
                "retention.ms": str(topic.retention_ms),
            },
        )
        for topic in agreement.topics
        for name in agreement.expand(topic)
    }


def _with_topics(agreement: Agreement, *topics: Topic) -> Agreement:
    return agreement.model_copy(update={"topics": topics})


def test_empty_single_broker_cluster_gets_every_topic_with_replication_one(
    agreement: Agreement,
) -> None:
    """On one broker every topic is created with replication 1 and min ISR 1."""
    plan = plan_provisioning(agreement, ClusterState(brokers=1))
    expected = [("create", name, 1, "1") for t in agreement.topics for name in agreement.expand(t)]
    actual = [
        ("create", a.spec.name, a.spec.replication, a.spec.configs["min.insync.replicas"])
        for a in plan.actions
        if isinstance(a, CreateTopic)
    ]
    assert (expected, len(expected)) == (actual, len(plan.actions))


def test_clamped_replication_is_explained(agreement: Agreement) -> None:
    """The plan says replication and min ISR were cut to what one broker can hold."""
    plan = plan_provisioning(agreement, ClusterState(brokers=1))
    expected = (
        "replication 1 (agreement 3, cluster has 1 broker)",
        "min.insync.replicas 1 (agreement 2, never above replication 1)",
    )
    assert expected == plan.notes


def test_three_brokers_get_the_agreements_replication(agreement: Agreement) -> None:
    """On three brokers topics get replication 3 and min ISR 2, with no notes."""
    plan = plan_provisioning(agreement, ClusterState(brokers=3))
    first = plan.actions[0]
    assert isinstance(first, CreateTopic)
    expected = TopicSpec(
        "hx.alerts.person",
        6,
        3,
        {"cleanup.policy": "delete", "min.insync.replicas": "2", "retention.ms": "31536000000"},
    )
    assert (expected, ()) == (first.spec, plan.notes)


def test_cluster_matching_the_agreement_needs_no_change(agreement: Agreement) -> None:
    """When every topic exists as asked, the plan is empty."""
    state = ClusterState(brokers=3, topics=_existing(agreement, replication=3, min_isr=2))
    plan = plan_provisioning(agreement, state)
    expected = (False, (), len(agreement.topic_names()))
    assert expected == (plan.changes_anything, plan.actions, plan.topics)


def test_brokers_down_do_not_lower_min_isr_of_existing_topics(agreement: Agreement) -> None:
    """With two of three brokers down, replication-3 topics keep min ISR 2: no change."""
    state = ClusterState(brokers=1, topics=_existing(agreement, replication=3, min_isr=2))
    no_actions = ()
    assert no_actions == plan_provisioning(agreement, state).actions


def test_more_partitions_in_the_agreement_adds_partitions(agreement: Agreement) -> None:
    """A topic with fewer partitions than asked grows to the asked count."""
    topic = Topic(name="hx.audit", partitions=5, retention_ms=1000)
    one = _with_topics(agreement, topic)
    state = ClusterState(
        brokers=1,
        topics={
            "hx.audit": TopicState(
                3,
                1,
                {"cleanup.policy": "delete", "min.insync.replicas": "1", "retention.ms": "1000"},
            )
        },
    )
    assert (AddPartitions("hx.audit", 3, 5),) == plan_provisioning(one, state).actions


def test_fewer_partitions_in_the_agreement_is_only_noted(agreement: Agreement) -> None:
    """Kafka cannot remove partitions: the plan notes it and changes nothing."""
    topic = Topic(name="hx.audit", partitions=2, retention_ms=1000)
    state = ClusterState(
        brokers=1,
        topics={
            "hx.audit": TopicState(
                3,
                1,
                {"cleanup.policy": "delete", "min.insync.replicas": "1", "retention.ms": "1000"},
            )
        },
    )
    plan = plan_provisioning(_with_topics(agreement, topic), state)
    expected_note = "hx.audit: 3 partitions, agreement asks 2; Kafka cannot remove partitions"
    assert ((), expected_note) == (plan.actions, plan.notes[-1])


def test_differing_configs_are_altered_with_old_and_new_values(agreement: Agreement) -> None:
    """Retention and cleanup policy that differ from the agreement are set, old values shown."""
    topic = Topic(name="hx.audit", partitions=3, retention_ms=1000, cleanup_policy="compact")
    state = ClusterState(
        brokers=1,
        topics={
            "hx.audit": TopicState(
                3,
                1,
                {
                    "cleanup.policy": "delete",
                    "min.insync.replicas": "1",
                    "retention.ms": "604800000",
                },
            )
        },
    )
    plan = plan_provisioning(_with_topics(agreement, topic), state)
    expected = AlterTopicConfig(
        "hx.audit",
        {"cleanup.policy": ("delete", "compact"), "retention.ms": ("604800000", "1000")},
    )
    described = (
        "alter config of hx.audit: cleanup.policy delete -> compact, retention.ms 604800000 -> 1000"
    )
    assert ((expected,), described) == (plan.actions, expected.describe())


def test_cleanup_policy_order_does_not_matter(agreement: Agreement) -> None:
    """'delete,compact' on the broker equals 'compact,delete' in the agreement."""
    topic = Topic(name="hx.audit", partitions=1, retention_ms=5, cleanup_policy="compact,delete")
    state = ClusterState(
        brokers=1,
        topics={
            "hx.audit": TopicState(
                1,
                1,
                {
                    "cleanup.policy": "delete,compact",
                    "min.insync.replicas": "1",
                    "retention.ms": "5",
                },
            )
        },
    )
    no_actions = ()
    assert no_actions == plan_provisioning(_with_topics(agreement, topic), state).actions


def test_under_replicated_existing_topic_is_noted_and_min_isr_kept_within_it(
    agreement: Agreement,
) -> None:
    """A replication-1 topic on a 3-broker cluster is noted, and min ISR stays 1 for it."""
    topic = Topic(name="hx.audit", partitions=1, retention_ms=5)
    state = ClusterState(
        brokers=3,
        topics={
            "hx.audit": TopicState(
                1,
                1,
                {"cleanup.policy": "delete", "min.insync.replicas": "1", "retention.ms": "5"},
            )
        },
    )
    plan = plan_provisioning(_with_topics(agreement, topic), state)
    expected_note = (
        "hx.audit: replication 1, agreement asks 3; provision does not move replicas "
        "(reassign partitions by hand)"
    )
    assert ((), (expected_note,)) == (plan.actions, plan.notes)


def test_topic_replication_overrides_the_exchange_default(agreement: Agreement) -> None:
    """A topic's own replication wins over the exchange's, still clamped to the brokers."""
    topic = Topic(name="hx.audit", partitions=1, retention_ms=5, replication=2)
    plan = plan_provisioning(_with_topics(agreement, topic), ClusterState(brokers=3))
    first = plan.actions[0]
    assert isinstance(first, CreateTopic)
    expected = (2, "2")
    assert expected == (first.spec.replication, first.spec.configs["min.insync.replicas"])


@pytest.mark.parametrize(
    ("wanted", "min_isr", "brokers", "expected"),
    [
        (3, 2, 3, (3, 2, [])),
        (3, 2, 5, (3, 2, [])),
        (
            3,
            2,
            2,
            (2, 2, ["replication 2 (agreement 3, cluster has 2 brokers)"]),
        ),
        (
            1,
            2,
            3,
            (1, 1, ["min.insync.replicas 1 (agreement 2, never above replication 1)"]),
        ),
    ],
)
def test_fit_replication(
    wanted: int, min_isr: int, brokers: int, expected: tuple[int, int, list[str]]
) -> None:
    """Replication never exceeds live brokers; min ISR never exceeds replication."""
    assert expected == fit_replication(wanted, min_isr, brokers)


def test_create_action_describes_partitions_replication_and_configs() -> None:
    """A create action reads as one line an operator understands."""
    action = CreateTopic(
        TopicSpec("hx.audit", 3, 1, {"retention.ms": "5", "cleanup.policy": "delete"})
    )
    expected = (
        "create topic hx.audit: 3 partitions, replication 1, cleanup.policy=delete, retention.ms=5"
    )
    assert expected == action.describe()
