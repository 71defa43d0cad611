"""The alert register and the duplicate check on the real broker, through the command line.

The module has its own register topic (compacted) and register group, handed to every
``hxbus`` process through HX_ALERT_REGISTER_TOPIC / HX_ALERT_REGISTER_GROUP. The alert
topics are the agreement's, shared with other tests: each test works on a subject (an
identity number) made up for it, and looks only at its own alerts.
"""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog.testing
from raw_kafka import KafkaTopicPartition, raw_consumer, send_raw

from consumers import read_dead_letters
from consumers.alert_register import register as alert_register
from consumers.alert_register import run_register
from producers import SyntheticTraffic
from runtime import (
    CreateTopic,
    Settings,
    TopicSpec,
    open_admin,
    read_cluster_state,
    run_provisioning,
)
from schemas import (
    Agreement,
    Codec,
    ExchangeEvent,
    dlq_topic,
    envelope_headers,
    new_message_id,
    render_event,
)
from schemas.rules import make_identity_number

pytestmark = pytest.mark.broker

HXBUS = [sys.executable, "-m", "hxbus"]
XUZHOU, JINING = "320300000000", "370800000000"


@pytest.fixture(scope="module")
def provisioned(kafka_bootstrap: str, agreement: Agreement) -> str:
    """The agreement's topics exist on the test broker (idempotent, shared with others)."""
    run_provisioning(Settings(bootstrap=kafka_bootstrap), agreement)
    return kafka_bootstrap


@pytest.fixture(scope="module")
def env(provisioned: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment of this module's hxbus processes: its own register topic and group,
    caught up once (a first run reads the alert topics from their start; later commands
    read the register's snapshot and the few messages after its commit)."""
    name = f"t-alert-register-{uuid.uuid4().hex[:8]}"
    admin = open_admin(Settings(bootstrap=provisioned))
    try:
        spec = TopicSpec(
            name,
            partitions=3,
            replication=1,
            configs={"cleanup.policy": "compact", "min.insync.replicas": "1"},
        )
        CreateTopic(spec).apply(admin)
    finally:
        admin.close()
    env = {
        **os.environ,
        "HX_BOOTSTRAP": provisioned,
        "HX_LOG_LEVEL": "WARNING",
        "HX_STATE_DIR": str(tmp_path_factory.mktemp("register-state")),
        "HX_ALERT_REGISTER_TOPIC": name,
        "HX_ALERT_REGISTER_GROUP": f"g-{name}",
    }
    caught_up = hxbus(env, "alert-register", "run", "--until-idle", "2")
    assert 0 == caught_up.returncode, caught_up.stderr
    yield env
    admin = open_admin(Settings(bootstrap=provisioned))
    try:
        mine = {name, dlq_topic(env["HX_ALERT_REGISTER_GROUP"])}
        admin.delete_topics(sorted(mine & admin.list_topics()))
    finally:
        admin.close()


@pytest.fixture(scope="module")
def template(agreement: Agreement) -> ExchangeEvent:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    traffic = SyntheticTraffic(agreement, seed=71, start=start)
    return next(e for e in traffic.take(300) if e.event_type == "PersonAlert")


def hxbus(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HXBUS, *args], capture_output=True, text=True, env=env, timeout=240, check=False
    )


def made_up_id_number() -> str:
    """An identity number no other test uses (random birth date and sequence), male."""
    rng = random.Random(uuid.uuid4().int)
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(15_000))
    return make_identity_number("320311", born, rng.randrange(1, 1000, 2))


def person_alert(template: ExchangeEvent, agency: str, id_number: str) -> ExchangeEvent:
    """A new alert (revision 1, fresh alert_id) of ``agency`` on the person ``id_number``."""
    now = datetime.now(UTC).replace(microsecond=0)
    record = copy.deepcopy(template.record)
    record["subject"].update(
        id_number=id_number, birth_date=_birth_date(id_number), sex="MALE", aliases=[]
    )
    record.update(
        alert_id=str(uuid.uuid4()),
        revision=1,
        issuing_agency=agency,
        issued_at=now - timedelta(minutes=5),
        valid_until=now + timedelta(days=30),
        related_alerts=[],
    )
    envelope = template.envelope.evolve(source=agency, message_id=new_message_id())
    return ExchangeEvent(envelope, record)


def withdrawal(alert: ExchangeEvent) -> ExchangeEvent:
    record = {
        "alert_id": alert.record["alert_id"],
        "alert_kind": "PERSON",
        "status": "WITHDRAWN",
        "reason": "已抓获归案",
        "changed_at": datetime.now(UTC).replace(microsecond=0),
        "agency": alert.envelope.source,
    }
    envelope = alert.envelope.evolve(event_type="AlertStatusChange", message_id=new_message_id())
    return ExchangeEvent(envelope, record)


def _birth_date(id_number: str) -> date:
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def publish(
    env: dict[str, str], tmp_path: Path, event: ExchangeEvent
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"{event.envelope.message_id}.json"
    path.write_text(json.dumps(render_event(event), ensure_ascii=False), encoding="utf-8")
    return hxbus(env, "publish", "--as", event.envelope.source, str(path))


def listed(env: dict[str, str], id_number: str, *options: str) -> list[dict[str, Any]]:
    """``hxbus alerts --json --id-number N [options]``: the alerts on that person."""
    done = hxbus(env, "alerts", "--json", "--id-number", id_number, *options)
    assert (0, "") == (done.returncode, done.stderr)
    return [json.loads(line) for line in done.stdout.splitlines()]


def read_at(bootstrap: str, topic: str, partition: int, offset: int) -> bytes:
    """The value at one offset, read by a plain kafka-python consumer."""
    consumer = raw_consumer(Settings(bootstrap=bootstrap))
    try:
        tp = KafkaTopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        for _ in range(20):
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    if record.offset == offset:
                        value: bytes = record.value
                        return value
        raise AssertionError(f"nothing at {topic}/{partition}@{offset}")
    finally:
        consumer.close()


def receipt(stdout: str) -> tuple[str, int, int]:
    """(topic, partition, offset) of the single ``ok`` line."""
    (line,) = [x for x in stdout.splitlines() if x.startswith("ok ")]
    topic, _, rest = line.split(" ")[2].rpartition("/")
    partition, _, offset = rest.partition("@")
    return topic, int(partition), int(offset)


# -- the tests -----------------------------------------------------------------------------


def test_provisioning_makes_the_register_topic_compacted(provisioned: str) -> None:
    """``hx.alerts.register`` exists with cleanup.policy=compact, as the agreement says."""
    admin = open_admin(Settings(bootstrap=provisioned))
    try:
        state = read_cluster_state(admin, ["hx.alerts.register"])
    finally:
        admin.close()
    assert "compact" == state.topics["hx.alerts.register"].configs["cleanup.policy"]


def test_second_alert_of_the_same_agency_is_refused_naming_the_first(
    env: dict[str, str], template: ExchangeEvent, tmp_path: Path
) -> None:
    """Same person, same agency via ``hxbus publish``: exit 1, the line names the live
    alert, and the register still holds only the first alert."""
    number = made_up_id_number()
    first = person_alert(template, XUZHOU, number)
    assert 0 == publish(env, tmp_path, first).returncode
    second = publish(env, tmp_path, person_alert(template, XUZHOU, number))
    (line,) = second.stdout.splitlines()
    assert (1, True, True, True) == (
        second.returncode,
        line.endswith("revise it instead of issuing a new alert"),
        "subject.id_number: already has a live alert of this agency" in line,
        first.record["alert_id"] in line,
    )
    assert [first.record["alert_id"]] == [a["alert_id"] for a in listed(env, number)]


def test_alert_of_another_agency_is_published_linked_to_the_first(
    env: dict[str, str], template: ExchangeEvent, tmp_path: Path
) -> None:
    """Same person, another agency: exit 0, and the stored alert's related_alerts names
    the first one (read back by a plain consumer)."""
    number = made_up_id_number()
    first = person_alert(template, XUZHOU, number)
    assert 0 == publish(env, tmp_path, first).returncode
    done = publish(env, tmp_path, person_alert(template, JINING, number))
    assert 0 == done.returncode, done.stdout
    event_type, record = Codec().decode(read_at(env["HX_BOOTSTRAP"], *receipt(done.stdout)))
    assert ("PersonAlert", JINING, [first.record["alert_id"]]) == (
        event_type,
        record["issuing_agency"],
        record["related_alerts"],
    )


def test_withdrawn_alert_is_no_longer_listed_as_live(
    env: dict[str, str], template: ExchangeEvent, tmp_path: Path
) -> None:
    """After its withdrawal, ``hxbus alerts --live`` leaves the alert out; without
    --live it shows WITHDRAWN."""
    number = made_up_id_number()
    first = person_alert(template, XUZHOU, number)
    assert 0 == publish(env, tmp_path, first).returncode
    before = [a["alert_id"] for a in listed(env, number, "--live")]
    assert 0 == publish(env, tmp_path, withdrawal(first)).returncode
    after = [a["alert_id"] for a in listed(env, number, "--live")]
    statuses = [a["status"] for a in listed(env, number)]
    assert ([first.record["alert_id"]], [], ["WITHDRAWN"]) == (before, after, statuses)


def test_register_rebuilt_in_a_fresh_process_shows_the_same_state(
    env: dict[str, str], template: ExchangeEvent, tmp_path: Path
) -> None:
    """The register consumer writes the compacted topic and stops; a fresh ``hxbus
    alerts`` (now from the snapshot) lists what it listed before; the register topic
    holds the latest state per alert, without the identity number."""
    number = made_up_id_number()
    first = person_alert(template, XUZHOU, number)
    other = person_alert(template, JINING, number)
    for event in (first, other, withdrawal(first)):
        assert 0 == publish(env, tmp_path, event).returncode
    before = listed(env, number)
    ran = hxbus(env, "alert-register", "run", "--until-idle", "3")
    assert 0 == ran.returncode, ran.stderr
    after = listed(env, number)
    written = _register_entries(env)
    ids = (first.record["alert_id"], other.record["alert_id"])
    status = {a["alert_id"]: a["status"] for a in after}
    assert (before, ["WITHDRAWN", "ACTIVE"]) == (after, [status[i] for i in ids])
    assert (["WITHDRAWN", "ACTIVE"], False) == (
        [written[i]["status"] for i in ids],
        any(number in json.dumps(entry) for entry in written.values()),
    )


def test_a_load_far_behind_the_snapshot_warns_that_the_register_role_is_not_running(
    env: dict[str, str], template: ExchangeEvent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the register role the snapshot falls behind and every load replays the
    alert topics: a load past ``TAIL_WARNING`` messages says so, naming the group."""
    assert (
        0 == publish(env, tmp_path, person_alert(template, XUZHOU, made_up_id_number())).returncode
    )
    monkeypatch.setattr(alert_register, "TAIL_WARNING", 0)
    settings = Settings(
        bootstrap=env["HX_BOOTSTRAP"],
        alert_register_topic=env["HX_ALERT_REGISTER_TOPIC"],
        alert_register_group=env["HX_ALERT_REGISTER_GROUP"],
    )
    with structlog.testing.capture_logs() as logs:
        _, stats = alert_register.load_register(settings)
    warnings = [e for e in logs if e["event"] == "register_snapshot_behind"]
    assert [(stats.tail, env["HX_ALERT_REGISTER_GROUP"])] == [
        (e["tail"], e["group"]) for e in warnings
    ]


def test_a_load_since_an_earlier_one_reads_only_the_new_tail_and_agrees_with_a_whole_load(
    env: dict[str, str], template: ExchangeEvent
) -> None:
    """``load_register(since=...)`` (a bridge's second load, issue 17): after an earlier
    load, a new alert, a withdrawal and a forged withdrawal are the whole tail it reads;
    the forgery is refused; it holds what a whole load holds, and the earlier load's
    register still shows the alert before its withdrawal."""
    settings = Settings(
        bootstrap=env["HX_BOOTSTRAP"],
        alert_register_topic=env["HX_ALERT_REGISTER_TOPIC"],
        alert_register_group=env["HX_ALERT_REGISTER_GROUP"],
    )
    number = made_up_id_number()
    xuzhou, jining = person_alert(template, XUZHOU, number), person_alert(template, JINING, number)
    for event in (xuzhou, jining):
        _send(settings, event)
    earlier = alert_register.load_register(settings)
    newer = person_alert(template, XUZHOU, made_up_id_number())
    forged = withdrawal(jining)
    forged = ExchangeEvent(
        forged.envelope.evolve(source=XUZHOU), {**forged.record, "agency": XUZHOU}
    )
    for event in (newer, withdrawal(xuzhou), forged):
        _send(settings, event)
    again, stats = alert_register.load_register(settings, since=earlier)
    whole, _ = alert_register.load_register(settings)
    ids = [e.record["alert_id"] for e in (xuzhou, jining, newer)]
    assert ((3, 1), ["WITHDRAWN", "ACTIVE", "ACTIVE"]) == (
        (stats.tail, stats.refused),
        [s.status for s in map(again.get, ids) if s is not None],
    )
    assert ([whole.get(i) for i in ids], "ACTIVE") == (
        [again.get(i) for i in ids],
        getattr(earlier[0].get(ids[0]), "status", None),
    )


def test_a_message_that_changes_no_state_is_not_replayed_by_the_next_load(
    env: dict[str, str], template: ExchangeEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alert sent again (same alert and revision, a new message) changes no state, so
    no state's position passes it; the register role's read mark does: the role writes
    ``@read:<topic>/<partition>`` through it, and a load's tail starts after it."""
    settings = Settings(
        bootstrap=env["HX_BOOTSTRAP"],
        alert_register_topic=env["HX_ALERT_REGISTER_TOPIC"],
        alert_register_group=env["HX_ALERT_REGISTER_GROUP"],
    )
    alert = person_alert(template, XUZHOU, made_up_id_number())
    _send(settings, alert)
    again = ExchangeEvent(alert.envelope.evolve(message_id=new_message_id()), alert.record)
    partition, offset = _send(settings, again)
    role = hxbus(env, "alert-register", "run", "--until-idle", "2")
    mark = _register_entries(env).get(f"@read:hx.alerts.person/{partition}", {})
    tail_starts: list[dict[Any, int]] = []
    reading = alert_register.read_to_end

    def read_to_end(consumer: Any, starts: Any, **options: Any) -> Any:
        tail_starts.append(dict(starts))
        return reading(consumer, starts, **options)

    monkeypatch.setattr(alert_register, "read_to_end", read_to_end)
    register, _ = alert_register.load_register(settings)
    tail_start = next(
        at
        for tp, at in tail_starts[-1].items()
        if (tp.topic, tp.partition)
        == (
            "hx.alerts.person",
            partition,
        )
    )
    read_through = int(mark.get("read_through", "@-1").rpartition("@")[2])
    assert (0, True, True, 1) == (
        role.returncode,
        read_through >= offset,
        tail_start > offset,
        getattr(register.get(alert.record["alert_id"]), "revision", None),
    )


def test_the_running_role_marks_past_messages_it_never_hands_over(
    env: dict[str, str],
    template: ExchangeEvent,
    agreement: Agreement,
    tmp_path: Path,
) -> None:
    """Sent while the role runs (after its start-up load): an alert, the same alert again
    (handled, no state change) and a copy of that message (same message id: a duplicate
    the runtime never hands to the writer). The role's read mark passes the copy too:
    the runtime's position done for good carries it, written by the role's last flush."""
    settings = Settings(
        bootstrap=env["HX_BOOTSTRAP"],
        alert_register_topic=env["HX_ALERT_REGISTER_TOPIC"],
        alert_register_group=env["HX_ALERT_REGISTER_GROUP"],
        state_dir=tmp_path,
    )
    alert = person_alert(template, XUZHOU, made_up_id_number())
    again = ExchangeEvent(alert.envelope.evolve(message_id=new_message_id()), alert.record)
    sent: list[tuple[int, int]] = []

    def send_while_running() -> None:
        sent.extend(_send(settings, event) for event in (alert, again, again))

    stats = run_register(settings, agreement, idle_timeout=3.0, on_ready=send_while_running)
    partition, copy_offset = sent[-1]
    mark = _register_entries(env).get(f"@read:hx.alerts.person/{partition}", {})
    read_through = int(mark.get("read_through", "@-1").rpartition("@")[2])
    assert (True, True) == (stats.duplicate >= 1, read_through >= copy_offset)


def _send(settings: Settings, event: ExchangeEvent) -> tuple[int, int]:
    """``event`` written straight to its alert topic (unsigned: the loads verify nothing);
    where it landed: (partition, offset)."""
    codec = Codec()
    return send_raw(
        settings,
        "hx.alerts.person",
        key=event.record["alert_id"].encode(),
        value=codec.encode(event.event_type, event.record),
        headers=envelope_headers(event.envelope, codec.fingerprint(event.event_type)),
    )


def _register_entries(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The latest entry per key on this test's register topic (plain kafka-python)."""
    topic = env["HX_ALERT_REGISTER_TOPIC"]
    consumer = raw_consumer(
        Settings(bootstrap=env["HX_BOOTSTRAP"]),
        topic,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    try:
        return {record.key.decode(): json.loads(record.value) for record in consumer}
    finally:
        consumer.close()


def test_forged_withdrawal_changes_no_register_state(
    env: dict[str, str], template: ExchangeEvent, tmp_path: Path
) -> None:
    """Xuzhou's withdrawal of Jining's alert, written straight to the alert topic: neither
    a load (``hxbus alerts``) nor the register role folds it; the role dead-letters it
    ``not_authorized`` naming ``status_not_by_issuer``."""
    number = made_up_id_number()
    alert = person_alert(template, JINING, number)
    assert 0 == publish(env, tmp_path, alert).returncode
    forged = withdrawal(alert)
    forged = ExchangeEvent(
        forged.envelope.evolve(source=XUZHOU), {**forged.record, "agency": XUZHOU}
    )
    codec = Codec()
    send_raw(
        Settings(bootstrap=env["HX_BOOTSTRAP"]),
        "hx.alerts.person",
        key=alert.record["alert_id"].encode(),
        value=codec.encode(forged.event_type, forged.record),
        headers=envelope_headers(forged.envelope, codec.fingerprint(forged.event_type)),
    )
    loaded = [a["status"] for a in listed(env, number)]
    ran = hxbus(env, "alert-register", "run", "--until-idle", "3")
    assert 0 == ran.returncode, ran.stderr
    settings = Settings(bootstrap=env["HX_BOOTSTRAP"])
    dead = [
        (e.header("hx_dlq_reason"), e.header("hx_dlq_rule"))
        for e in read_dead_letters(settings, env["HX_ALERT_REGISTER_GROUP"])
        if e.header("ce_id") == forged.envelope.message_id
    ]
    assert (["ACTIVE"], ["ACTIVE"], [("not_authorized", "status_not_by_issuer")]) == (
        loaded,
        [a["status"] for a in listed(env, number)],
        dead,
    )


def test_publish_refuses_a_withdrawal_of_another_agencys_alert_up_front(
    env: dict[str, str], template: ExchangeEvent, tmp_path: Path
) -> None:
    """``hxbus publish --as Xuzhou`` of a withdrawal of Jining's alert: refused before
    sending, in the receivers' words (exit 1, nothing stored)."""
    alert = person_alert(template, JINING, made_up_id_number())
    assert 0 == publish(env, tmp_path, alert).returncode
    forged = withdrawal(alert)
    forged = ExchangeEvent(
        forged.envelope.evolve(source=XUZHOU), {**forged.record, "agency": XUZHOU}
    )
    done = publish(env, tmp_path, forged)
    path = tmp_path / f"{forged.envelope.message_id}.json"
    assert (
        1,
        f"{path}:1: data.agency: status_not_by_issuer: alert {alert.record['alert_id']} was "
        f"issued by {JINING}; {XUZHOU} may not change its status\n",
    ) == (done.returncode, done.stdout)
