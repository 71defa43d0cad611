"""A secured broker (SASL/SCRAM, StandardAuthorizer) provisioned from the agreement.

Runs its own one-node cluster on free ports (``hxbus broker start --secure``'s code), not
the shared development broker: every test here is about being refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from kafka_refusal import refusal_name
from own_broker_support import free_port_pair
from pydantic import SecretStr
from secured_support import keyed_agreement

from hxbus import broker
from hxbus.broker.tools import run_tool
from hxbus.cli import main
from hxbus.exit_codes import ExitCode
from producers import Publisher, SyntheticTraffic
from runtime import (
    Settings,
    open_admin,
    open_consumer,
    open_producer,
    run_provisioning,
)
from runtime.access import desired_grants, run_access_provisioning
from runtime.kafka import AdminOptions, ConsumerOptions, ProducerOptions
from runtime.kafka.kafka_python_connection import connecting
from runtime.secrets import password_file, read_secret
from schemas import DEFAULT_AGREEMENT_PATH, Agreement, inbox_topic
from schemas.errors import NotAuthorized

pytestmark = pytest.mark.broker

XUZHOU, JINING, HEZE = "320300000000", "370800000000", "371700000000"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, agreement: Agreement) -> Iterator[Settings]:
    """Admin settings of a secured one-node cluster, provisioned (topics, users, ACLs)."""
    state = tmp_path_factory.mktemp("secured")
    root = state / "broker"
    cluster = broker.start_cluster(root, nodes=1, port=free_port_pair(), secure=True, timeout=180)
    try:
        admin = broker.admin_settings(cluster).model_copy(update={"state_dir": state})
        run_provisioning(admin, agreement)
        assert run_access_provisioning(admin, agreement) is not None
        yield admin
    finally:
        broker.stop_cluster(root)


def login(secured: Settings, user: str, password: str | None = None) -> Settings:
    """Settings of ``user`` with its provisioned password (or the one given)."""
    secret = (
        password if password is not None else read_secret(password_file(secured.state_dir, user))
    )
    return Settings(
        bootstrap=secured.bootstrap,
        sasl_username=user,
        sasl_password=SecretStr(secret),
        state_dir=secured.state_dir,
    )


def poll_once(settings: Settings, topic: str, group: str) -> None:
    consumer = open_consumer(settings, ConsumerOptions(group_id=group))
    try:
        consumer.subscribe([topic])
        for _ in range(3):
            consumer.poll(2.0)
    finally:
        consumer.close()


def test_agency_reading_another_inbox_is_refused(secured: Settings) -> None:
    """Xuzhou's consumer on Jining's inbox gets a topic authorization error."""
    topic = inbox_topic(JINING)
    with pytest.raises(NotAuthorized) as refused:
        poll_once(login(secured, XUZHOU), topic, f"{XUZHOU}.t-{uuid.uuid4().hex[:8]}")
    assert "TOPIC_AUTHORIZATION_FAILED" == refusal_name(refused.value)
    assert topic in str(refused.value)


def describe_topic(settings: Settings, topic: str) -> None:
    """Ask for the topic's metadata; NotAuthorized when the broker hides it."""
    admin = open_admin(settings)
    try:
        admin.describe_topics([topic])
    finally:
        admin.close()


def test_audit_is_hidden_from_agencies_and_read_by_the_auditor(secured: Settings) -> None:
    """An agency is refused even the audit topic's metadata; the auditor reads it.

    (kafka-python's consumer only logs a topic it may not describe and polls on, empty:
    the metadata request is where the broker's refusal shows.)
    """
    with pytest.raises(NotAuthorized) as refused:
        describe_topic(login(secured, XUZHOU), "hx.audit")
    assert "TOPIC_AUTHORIZATION_FAILED" == refusal_name(refused.value)
    auditor = login(secured, "auditor")
    describe_topic(auditor, "hx.audit")
    poll_once(auditor, "hx.audit", f"auditor.t-{uuid.uuid4().hex[:8]}")


def test_agency_reads_own_inbox_and_the_broadcast_topics(secured: Settings) -> None:
    """The same agency, in its own consumer group, reads its inbox and the alerts."""
    settings = login(secured, XUZHOU)
    for topic in (inbox_topic(XUZHOU), "hx.alerts.person"):
        poll_once(settings, topic, f"{XUZHOU}.t-{uuid.uuid4().hex[:8]}")


def test_agency_consumer_group_outside_its_prefix_is_refused(secured: Settings) -> None:
    """A group not named ``<agency>.`` is another's: group authorization error."""
    with pytest.raises(NotAuthorized) as refused:
        poll_once(login(secured, XUZHOU), inbox_topic(XUZHOU), f"{JINING}.stolen")
    assert "GROUP_AUTHORIZATION_FAILED" == refusal_name(refused.value)


def test_agency_writes_a_broadcast_topic(secured: Settings, agreement: Agreement) -> None:
    """Xuzhou publishes its PersonAlert on hx.alerts.person: the broker acknowledges it."""
    start = datetime.now(UTC).replace(microsecond=0)
    alert = next(
        e
        for e in SyntheticTraffic(agreement, seed=9, start=start).take(500)
        if e.event_type == "PersonAlert" and e.envelope.source == XUZHOU
    )
    with Publisher(login(secured, XUZHOU), agreement, delivery_timeout_ms=30_000) as publisher:
        receipts = publisher.publish(alert)
    assert ["hx.alerts.person"] == [r.topic for r in receipts]


def test_agency_writing_the_audit_is_refused(secured: Settings) -> None:
    """Only bridges write hx.audit: an agency's send is refused by ACL."""
    producer = open_producer(login(secured, XUZHOU), ProducerOptions(max_block_ms=10_000))
    try:
        with pytest.raises(NotAuthorized) as refused:
            producer.send("hx.audit", key=b"k", value=b"v").get(20)
    finally:
        producer.close()
    assert "TOPIC_AUTHORIZATION_FAILED" == refusal_name(refused.value)


def test_unknown_user_is_refused(secured: Settings) -> None:
    """A user the broker does not know cannot log in: NotAuthorized naming it."""
    with pytest.raises(NotAuthorized, match="refused the login of user 'nobody'"):
        open_admin(login(secured, "nobody", "guess"), AdminOptions(bootstrap_timeout_ms=3000))


def test_wrong_password_is_refused(secured: Settings) -> None:
    """A known user with a wrong password cannot log in: NotAuthorized, invalid credentials."""
    with pytest.raises(NotAuthorized, match="invalid credentials"):
        open_admin(
            login(secured, XUZHOU, "not-the-password"), AdminOptions(bootstrap_timeout_ms=3000)
        )


def test_a_refused_login_is_said_before_any_client_connects(secured: Settings) -> None:
    """A wrong password is refused by the probe login before the Kafka client is made:
    the client's 30 s bootstrap timeout is never waited for."""
    opened: list[str] = []
    wrong = login(secured, XUZHOU, "another-wrong-password")
    with pytest.raises(NotAuthorized, match="invalid credentials"), connecting(wrong, "open"):
        opened.append("the client")
    assert [] == opened


def test_second_provisioning_changes_nothing(secured: Settings, agreement: Agreement) -> None:
    """Users and ACLs are as the agreement asks after the first run: the plan is empty."""
    plan = run_access_provisioning(secured, agreement, dry_run=True)
    assert plan is not None
    assert [] == plan.lines()


def test_agency_removed_from_agreement_loses_acls_and_login(
    secured: Settings, agreement: Agreement
) -> None:
    """Provisioning an agreement without Heze revokes Heze's ACLs and deletes its user;
    provisioning the full agreement again restores them."""
    raw = agreement.model_dump()
    raw["agencies"] = [a for a in raw["agencies"] if a["id"] != HEZE]
    without = Agreement.model_validate(raw)
    heze_grants = {g for g in desired_grants(agreement) if g.user == HEZE}
    try:
        plan = run_access_provisioning(secured, without)
        assert plan is not None
        assert ([HEZE], heze_grants) == (
            plan.users_to_delete,
            {g for g in plan.grants_to_revoke if g.user == HEZE},
        )
        with pytest.raises(NotAuthorized, match=f"refused the login of user '{HEZE}'"):
            open_admin(login(secured, HEZE), AdminOptions(bootstrap_timeout_ms=3000))
        again = run_access_provisioning(secured, without, dry_run=True)
        assert again is not None
        assert [] == again.lines()
    finally:
        restored = run_access_provisioning(secured, agreement)
    assert restored is not None
    assert {g for g in restored.grants_to_create if g.user == HEZE} == heze_grants


def test_cli_provision_dry_run_and_credentials(
    secured: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``hxbus provision --dry-run`` as admin refuses the keyless agreement, naming the
    command that makes a key, and reports no change for the same agreement with keys;
    ``hxbus credentials`` prints the export lines of the agency's provisioned login."""
    password = secured.sasl_password
    assert password is not None
    monkeypatch.setenv("HX_BOOTSTRAP", secured.bootstrap)
    monkeypatch.setenv("HX_STATE_DIR", str(secured.state_dir))
    monkeypatch.setenv("HX_AGREEMENT", str(DEFAULT_AGREEMENT_PATH))
    monkeypatch.setenv("HX_SASL_USERNAME", "admin")
    monkeypatch.setenv("HX_SASL_PASSWORD", password.get_secret_value())
    monkeypatch.setattr("hxbus.cli.configure_logging", lambda *_args, **_kwargs: None)
    capsys.readouterr()
    assert 2 == main(["provision", "--dry-run"])
    refused = capsys.readouterr().err
    assert "agency 320300000000 (Xuzhou): hxbus keys generate --agency 320300000000" in refused
    assert "bridge of province JS: hxbus keys generate --province JS" in refused
    monkeypatch.setenv("HX_AGREEMENT", str(keyed_agreement(secured.state_dir)))
    assert 0 == main(["provision", "--dry-run"])
    provision_out = capsys.readouterr().out
    assert "no change: the users and ACLs of the agreement are as it asks" in provision_out
    assert 0 == main(["credentials", "--agency", XUZHOU])
    secret = read_secret(password_file(secured.state_dir, XUZHOU))
    assert [f"export HX_SASL_USERNAME={XUZHOU}", f"export HX_SASL_PASSWORD={secret}"] == (
        capsys.readouterr().out.splitlines()
    )
    assert 0 == main(["credentials", "--admin"])
    assert f"export HX_SASL_PASSWORD={password.get_secret_value()}" in capsys.readouterr().out


def test_a_client_without_login_hears_at_once_that_the_broker_wants_one(
    secured: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No credentials against the SASL listener: NotAuthorized naming the way to a login,
    instead of a bootstrap timeout ("Unable to bootstrap"); ``hxbus provision`` too."""
    anonymous = Settings(bootstrap=secured.bootstrap, sasl_username=None)
    with pytest.raises(NotAuthorized) as refused:
        open_admin(anonymous)
    for name in ("HX_SASL_USERNAME", "HX_SASL_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HX_BOOTSTRAP", secured.bootstrap)
    monkeypatch.setattr("hxbus.cli.configure_logging", lambda *_args, **_kwargs: None)
    capsys.readouterr()
    status = main(["provision"])
    said = capsys.readouterr().err
    assert (True, True, ExitCode.NOT_AUTHORISED, True) == (
        "wants a SASL login (SCRAM-SHA-512)" in str(refused.value),
        'eval "$(hxbus credentials --agency A)"' in str(refused.value),
        status,
        "wants a SASL login" in said,
    )


def test_kafka_tools_log_in_with_the_configured_credentials(
    secured: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    """``hxbus kafka topics --list`` as Xuzhou sees its inbox, not hx.audit; a bad login fails."""
    status = run_tool("topics", ["--list"], login(secured, XUZHOU))
    listed = set(capfd.readouterr().out.split())
    refused = run_tool("topics", ["--list"], login(secured, XUZHOU, "wrong"))
    capfd.readouterr()
    assert (0, True, True, False) == (
        status,
        inbox_topic(XUZHOU) in listed,
        "hx.alerts.person" in listed,
        "hx.audit" in listed,
    )
    assert 0 != refused


def _hxbus_as(settings: Settings, *args: str) -> subprocess.Popen[str]:
    """``hxbus ARGS`` started in a subprocess, logged in as ``settings`` says."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HX_SASL_")}
    environment["HX_BOOTSTRAP"] = settings.bootstrap
    if settings.sasl_username and settings.sasl_password:
        environment["HX_SASL_USERNAME"] = settings.sasl_username
        environment["HX_SASL_PASSWORD"] = settings.sasl_password.get_secret_value()
    return subprocess.Popen(
        [sys.executable, "-m", "hxbus", *args],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_a_refused_login_exits_4_and_an_unreachable_broker_3(secured: Settings) -> None:
    """``hxbus alerts`` with a wrong password: status 4 (not authorised), said at once
    (a probe login before the client); against a port where no broker listens: status 3
    (unavailable), said once the client gives up (its 30 s bootstrap timeout)."""
    nowhere = Settings(bootstrap=f"127.0.0.1:{free_port_pair()}", sasl_username=None)
    refused = _hxbus_as(login(secured, XUZHOU, "not-the-password"), "alerts")
    unreachable = _hxbus_as(nowhere, "alerts")
    said = [process.communicate(timeout=120)[1] for process in (refused, unreachable)]
    assert (ExitCode.NOT_AUTHORISED, True, ExitCode.UNAVAILABLE, True) == (
        refused.returncode,
        "hxbus: NotAuthorized:" in said[0],
        unreachable.returncode,
        "hxbus: BrokerUnavailable:" in said[1],
    )
