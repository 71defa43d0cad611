"""The pure parts of broker security: a secured node's properties, the ACL plan, secrets."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import pytest

from hxbus import broker
from hxbus.broker.processes import write_node_files
from hxbus.broker.security import format_arguments, secure_properties
from runtime.access import AccessState, Grant, desired_grants, desired_users, plan_access
from runtime.secrets import ensure_secret, password_file, read_secret
from schemas import Agreement, inbox_topic
from schemas.errors import ConfigError

XUZHOU, JINING, HEZE = "320300000000", "370800000000", "371700000000"


def _secured(tmp_path: Path, plain_port: int | None = None) -> broker.Cluster:
    cluster = broker.plan_cluster(tmp_path / "broker", nodes=1, port=9192, cluster_id="abc")
    return replace(cluster, secure=True, plain_port=plain_port)


def test_secured_node_has_sasl_listeners_authorizer_and_no_default_allow(tmp_path: Path) -> None:
    """SASL client and controller listeners, StandardAuthorizer, admin the only super-user."""
    cluster = _secured(tmp_path)
    props = secure_properties(cluster, cluster.nodes[0], "pw")
    expected = {
        "listeners": "SASL://127.0.0.1:9192,CONTROLLER://127.0.0.1:9193",
        "advertised.listeners": "SASL://127.0.0.1:9192",
        "listener.security.protocol.map": "SASL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        "inter.broker.listener.name": "SASL",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "sasl.mechanism.controller.protocol": "PLAIN",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:admin",
        "allow.everyone.if.no.acl.found": "false",
    }
    assert expected == {key: props[key] for key in expected}


def test_plain_listener_only_when_asked(tmp_path: Path) -> None:
    """--plain-port adds a PLAINTEXT listener whose anonymous user is a super-user."""
    cluster = _secured(tmp_path, plain_port=9200)
    props = secure_properties(cluster, cluster.nodes[0], "pw")
    assert ("PLAIN://127.0.0.1:9200", "User:admin;User:ANONYMOUS") == (
        props["listeners"].split(",")[-1],
        props["super.users"],
    )


def test_secured_properties_file_is_0600_and_format_adds_admin_scram(tmp_path: Path) -> None:
    """server.properties holds the admin's JAAS password: mode 600; format bootstraps admin."""
    cluster = _secured(tmp_path)
    password = broker.ensure_admin_password(cluster.root)
    write_node_files(cluster, cluster.nodes[0])
    mode = stat.S_IMODE(cluster.nodes[0].properties_file.stat().st_mode)
    assert (0o600, ["--add-scram", f"SCRAM-SHA-512=[name=admin,password={password}]"]) == (
        mode,
        format_arguments(cluster),
    )


def test_secure_is_fixed_when_the_cluster_is_made(tmp_path: Path) -> None:
    """A plain cluster on record is not restarted as secured (its storage has no admin)."""
    root = tmp_path / "broker"
    cluster = broker.plan_cluster(root, nodes=1, port=9192, cluster_id="abc")
    root.mkdir()
    cluster.state_file.write_text(cluster.to_json())
    with pytest.raises(ConfigError, match="holds a plain cluster"):
        broker.start_cluster(root, secure=True)


def test_cluster_json_round_trips_security(tmp_path: Path) -> None:
    """secure and plain_port survive cluster.json."""
    cluster = _secured(tmp_path, plain_port=9200)
    cluster.root.mkdir(parents=True)
    cluster.state_file.write_text(cluster.to_json())
    assert cluster == broker.load_cluster(cluster.root)


# -- the ACL plan -----------------------------------------------------------------------------


def _of(agreement: Agreement, user: str) -> set[Grant]:
    return {g for g in desired_grants(agreement) if g.user == user}


def test_agency_reads_broadcast_and_own_inbox_only(agreement: Agreement) -> None:
    """Topic READ for an agency: the alerts prefix, its inbox, its lookup answers, its DLQ
    prefix; nothing else."""
    reads = {(g.pattern, g.name) for g in _of(agreement, XUZHOU) if g.operation == "READ"}
    assert {
        ("PREFIXED", "hx.alerts."),
        ("LITERAL", inbox_topic(XUZHOU)),
        ("LITERAL", f"hx.lookup.replies.{XUZHOU}"),
        ("PREFIXED", f"hx.dlq.{XUZHOU}."),
        ("PREFIXED", f"{XUZHOU}."),  # its consumer groups
    } == reads


def test_agency_writes_broadcast_and_the_inboxes(agreement: Agreement) -> None:
    """Topic WRITE: the two alert topics, every inbox (its own for a DLQ replay and the
    issuer's copy of a need-to-know alert) and the lookup questions; not the audit."""
    writes = {
        g.name
        for g in _of(agreement, XUZHOU)
        if g.operation == "WRITE" and g.resource == "TOPIC" and g.pattern == "LITERAL"
    }
    inboxes = {inbox_topic(a.id) for a in agreement.agencies}
    assert {"hx.alerts.person", "hx.alerts.vehicle", "hx.lookup.requests", *inboxes} == writes


def test_bridge_reads_its_provinces_inboxes_and_writes_audit(agreement: Agreement) -> None:
    """bridge-sd reads the four Shandong inboxes (no other), writes hx.audit and its DLQs."""
    grants = _of(agreement, "bridge-sd")
    inbox_reads = {
        g.name for g in grants if g.operation == "READ" and g.name.startswith("hx.inbox.")
    }
    shandong = {inbox_topic(a.id) for a in agreement.agencies_of("SD")}
    writes = {(g.pattern, g.name) for g in grants if g.operation == "WRITE"}
    assert (shandong, True, True) == (
        inbox_reads,
        ("LITERAL", "hx.audit") in writes,
        ("PREFIXED", "hx.dlq.hx.bridge.sd") in writes,
    )


def test_only_auditors_read_the_audit(agreement: Agreement) -> None:
    """READ on hx.audit is granted to the auditor and to nobody else."""
    readers = {
        g.user for g in desired_grants(agreement) if g.name == "hx.audit" and g.operation == "READ"
    }
    assert {"auditor"} == readers


def test_plan_is_empty_when_the_broker_holds_the_agreement(
    agreement: Agreement, tmp_path: Path
) -> None:
    """Same grants, same users, every password file there: nothing to do."""
    users = desired_users(agreement)
    for user in users:
        ensure_secret(password_file(tmp_path, user))
    state = AccessState(frozenset(desired_grants(agreement)), frozenset({*users, "admin"}))
    assert [] == plan_access(agreement, state, tmp_path).lines()


def test_plan_revokes_a_removed_agency(agreement: Agreement, tmp_path: Path) -> None:
    """An agency gone from the agreement: its grants and the others' on its inbox revoked,
    its user deleted, nothing else touched."""
    users = desired_users(agreement)
    for user in users:
        ensure_secret(password_file(tmp_path, user))
    state = AccessState(frozenset(desired_grants(agreement)), frozenset(users))
    raw = agreement.model_dump()
    raw["agencies"] = [a for a in raw["agencies"] if a["id"] != HEZE]
    plan = plan_access(Agreement.model_validate(raw), state, tmp_path)
    about_heze = {g for g in plan.grants_to_revoke if HEZE in (g.user, g.name.split(".")[-1])}
    assert ([HEZE], set(plan.grants_to_revoke), []) == (
        plan.users_to_delete,
        about_heze,
        plan.grants_to_create,
    )
    assert {g for g in desired_grants(agreement) if g.user == HEZE} <= about_heze


def test_plan_lines_never_hold_a_password(agreement: Agreement, tmp_path: Path) -> None:
    """A first run writes every user; the printed plan names users, never secrets."""
    plan = plan_access(agreement, AccessState(frozenset(), frozenset()), tmp_path)
    text = "\n".join(plan.lines())
    assert (len(desired_users(agreement)), False) == (
        len(plan.users_to_write),
        any(p.exists() for p in tmp_path.rglob("*.password")),
    )
    assert "password" not in text.lower()


def test_secret_readable_by_others_is_refused(tmp_path: Path) -> None:
    """A password file with mode 644 is refused, naming the file."""
    path = password_file(tmp_path, JINING)
    ensure_secret(path)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="mode 644 lets others read a secret"):
        read_secret(path)
