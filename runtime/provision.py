"""Provisioning: make the cluster hold what the agreement says, idempotently.

Three steps, kept apart so the middle one is a pure function a unit test can drive:

1. ``read_cluster_state(admin, names)`` asks the broker what exists (a ``ClusterState``);
2. ``plan_provisioning(agreement, state)`` compares it with the agreement and returns a
   ``Plan``: a list of small ``Action`` objects and notes;
3. ``apply_plan(plan, admin)`` runs the actions in order.

Replication is the agreement's value fitted to the live brokers (a one-node development
broker cannot hold three replicas), and min.insync.replicas is never above replication; the
plan says so in a note. A later security issue adds SCRAM-credential and ACL actions: any
object with ``describe()`` and ``apply(admin)`` can go into the plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from runtime.kafka import Admin, NewTopic, open_admin
from runtime.settings import Settings
from schemas import Agreement, Topic

#: Topic configs provisioning owns; any other topic config is left as the operator set it.
MANAGED_CONFIGS = ("cleanup.policy", "min.insync.replicas", "retention.ms")


# --- what the cluster has ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopicState:
    """One existing topic: partition count, replication factor, effective managed configs."""

    partitions: int
    replication: int
    configs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ClusterState:
    """What the cluster holds now: live (unfenced) brokers, and the topics that exist."""

    brokers: int
    topics: Mapping[str, TopicState] = field(default_factory=dict)


# --- what the agreement asks -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One concrete topic as the agreement asks for it, fitted to the cluster."""

    name: str
    partitions: int
    replication: int
    configs: Mapping[str, str]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def fit_replication(wanted: int, min_isr: int, brokers: int) -> tuple[int, int, list[str]]:
    """Replication and min.insync.replicas the cluster can honour, and notes on any cut."""
    replication = max(1, min(wanted, brokers))
    insync = min(min_isr, replication)
    notes = []
    if replication != wanted:
        notes.append(
            f"replication {replication} (agreement {wanted}, cluster has "
            f"{_plural(brokers, 'broker')})"
        )
    if insync != min_isr:
        notes.append(
            f"min.insync.replicas {insync} (agreement {min_isr}, "
            f"never above replication {replication})"
        )
    return replication, insync, notes


def topic_configs(topic: Topic, min_isr: int) -> dict[str, str]:
    """The managed topic configs of one agreement topic, as the broker spells them."""
    return {
        "cleanup.policy": topic.cleanup_policy,
        "min.insync.replicas": str(min_isr),
        "retention.ms": str(topic.retention_ms),
    }


def _same_value(key: str, current: str | None, wanted: str) -> bool:
    if current is None:
        return False
    if key == "cleanup.policy":  # a list: "compact,delete" equals "delete,compact"
        return set(current.replace(" ", "").split(",")) == set(wanted.split(","))
    return current == wanted


# --- the plan ------------------------------------------------------------------------------


class Action(Protocol):
    """One step of a plan: says what it will do, and does it through an admin client."""

    def describe(self) -> str: ...

    def apply(self, admin: Admin) -> None: ...


@dataclass(frozen=True, slots=True)
class CreateTopic:
    """Create a topic that the agreement names and the cluster lacks."""

    spec: TopicSpec

    def describe(self) -> str:
        configs = ", ".join(f"{k}={v}" for k, v in sorted(self.spec.configs.items()))
        return (
            f"create topic {self.spec.name}: {_plural(self.spec.partitions, 'partition')}, "
            f"replication {self.spec.replication}, {configs}"
        )

    def apply(self, admin: Admin) -> None:
        spec = self.spec
        configs = tuple(sorted(spec.configs.items()))
        # A topic another provisioning run created meanwhile is not an error.
        admin.create_topics([NewTopic(spec.name, spec.partitions, spec.replication, configs)])


@dataclass(frozen=True, slots=True)
class AddPartitions:
    """Grow a topic to the partition count the agreement asks for (never shrinks)."""

    topic: str
    current: int
    wanted: int

    def describe(self) -> str:
        return f"add partitions to {self.topic}: {self.current} -> {self.wanted}"

    def apply(self, admin: Admin) -> None:
        admin.create_partitions(self.topic, self.wanted)


@dataclass(frozen=True, slots=True)
class AlterTopicConfig:
    """Set the managed configs of a topic that differ from the agreement."""

    topic: str
    #: config key -> (current value or None, wanted value)
    changes: Mapping[str, tuple[str | None, str]]

    def describe(self) -> str:
        parts = ", ".join(f"{k} {old} -> {new}" for k, (old, new) in sorted(self.changes.items()))
        return f"alter config of {self.topic}: {parts}"

    def apply(self, admin: Admin) -> None:
        admin.alter_topic_configs(
            self.topic, {key: new for key, (_old, new) in self.changes.items()}
        )


@dataclass(frozen=True, slots=True)
class Plan:
    """The actions that bring the cluster to the agreement, and what the reader should know
    (replication fitted to the cluster, changes provisioning will not make)."""

    actions: tuple[Action, ...]
    notes: tuple[str, ...]
    topics: int

    @property
    def changes_anything(self) -> bool:
        return bool(self.actions)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def plan_provisioning(agreement: Agreement, state: ClusterState) -> Plan:
    """Compare the agreement with the cluster state; a pure function (no I/O)."""
    actions: list[Action] = []
    notes: list[str] = []
    count = 0
    for topic in agreement.topics:
        wanted_rf = topic.replication or agreement.exchange.replication
        replication, min_isr, fit_notes = fit_replication(
            wanted_rf, agreement.exchange.min_insync_replicas, state.brokers
        )
        notes.extend(fit_notes)
        for name in agreement.expand(topic):
            count += 1
            current = state.topics.get(name)
            if current is None:
                spec = TopicSpec(name, topic.partitions, replication, topic_configs(topic, min_isr))
                actions.append(CreateTopic(spec))
                continue
            actions.extend(
                _changes_to_existing(
                    name, topic, current, agreement.exchange.min_insync_replicas, notes
                )
            )
            if current.replication < replication:
                notes.append(
                    f"{name}: replication {current.replication}, agreement asks {replication}; "
                    "provision does not move replicas (reassign partitions by hand)"
                )
    return Plan(tuple(actions), _unique(notes), count)


def _changes_to_existing(
    name: str, topic: Topic, current: TopicState, agreed_min_isr: int, notes: list[str]
) -> list[Action]:
    """Actions for a topic that exists. Its min ISR follows the agreement within the topic's
    own replication, not the brokers alive now: an outage must not weaken durability."""
    actions: list[Action] = []
    if current.partitions < topic.partitions:
        actions.append(AddPartitions(name, current.partitions, topic.partitions))
    elif current.partitions > topic.partitions:
        notes.append(
            f"{name}: {current.partitions} partitions, agreement asks {topic.partitions}; "
            "Kafka cannot remove partitions"
        )
    # min.insync.replicas above the topic's own replication would refuse every acks=all write.
    wanted = topic_configs(topic, min(agreed_min_isr, current.replication))
    changes = {
        key: (current.configs.get(key), value)
        for key, value in wanted.items()
        if not _same_value(key, current.configs.get(key), value)
    }
    if changes:
        actions.append(AlterTopicConfig(name, changes))
    return actions


# --- talking to the broker -------------------------------------------------------------------


def read_cluster_state(admin: Admin, topic_names: Sequence[str]) -> ClusterState:
    """Ask the broker how many brokers are live and what it has of ``topic_names``."""
    brokers = sum(1 for b in admin.describe_cluster() if not b.fenced)
    shapes = {
        name: (
            len(topic.partitions),
            min((len(p.replicas) for p in topic.partitions), default=0),
        )
        for name, topic in admin.describe_topics(list(topic_names)).items()
    }
    configs = admin.describe_topic_configs(list(shapes), MANAGED_CONFIGS)
    topics = {
        name: TopicState(
            partitions,
            replication,
            {key: value for key, value in configs.get(name, {}).items() if value is not None},
        )
        for name, (partitions, replication) in shapes.items()
    }
    return ClusterState(brokers=brokers, topics=topics)


def apply_plan(plan: Plan, admin: Admin) -> list[str]:
    """Run every action in order; returns what was done, one line per action."""
    done = []
    for action in plan.actions:
        action.apply(admin)
        done.append(action.describe())
    return done


def run_provisioning(settings: Settings, agreement: Agreement, *, dry_run: bool = False) -> Plan:
    """Read the cluster, plan, and (unless ``dry_run``) apply; returns the plan it made."""
    admin = open_admin(settings)
    try:
        state = read_cluster_state(admin, agreement.topic_names())
        plan = plan_provisioning(agreement, state)
        if not dry_run:
            apply_plan(plan, admin)
        return plan
    finally:
        admin.close()
