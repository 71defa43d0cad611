"""Need to know on the wire, proven against a secured broker the test starts.

The cluster is provisioned from an agreement in which every agency and bridge has a key
(``secured_support``), so the traffic is signed and the register and the lookup service
verify it. ``hxbus simulate`` runs a seeded mix with need-to-know alerts (about a quarter of the
alerts), their revisions and status changes. Then each agency logs in with its own SCRAM
login, lists every topic the broker shows it, reads each one it may from the beginning,
decodes everything (Avro values, the register's JSON, keys and headers), and must find
no alert id, identity number, plate or VIN of any restricted alert that was never shared
with it. The same run regenerates the events from the seed to know what was sent.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka_refusal import refusal_name
from secured_support import login, login_env, secured_cluster

from consumers import DeadLetterQueue, Origin
from consumers.alert_register import AlertRegister, run_register
from consumers.lookup import (
    INBOX_GROUP,
    LookupIndex,
    load_index,
    load_lookup_key,
    lookup_key_file,
    run_lookup,
)
from hxbus.cli import main
from hxbus.console.alert_book import MAX_ROWS, AlertBook
from hxbus.console.flows import FlowCounter
from hxbus.console.principal import Principal
from hxbus.console.topic_reader import TopicReader
from producers import LookupClient, Publisher, PublishOutcome, SyntheticTraffic
from runtime import (
    Settings,
    Verifier,
    agreement_signer,
    agreement_verifier,
    open_admin,
    open_consumer,
)
from runtime.kafka import ConsumerOptions, Record, TopicPartition
from runtime.topic_end import beginnings, read_to_end
from schemas import (
    AUDIT_TOPIC,
    Agreement,
    Codec,
    ExchangeEvent,
    inbox_topic,
    load_agreement,
    parse_event,
)
from schemas.audiences import is_restricted
from schemas.errors import DuplicateAlert, HxError, NotAuthorized, SinkRejected
from schemas.lookup import LookupReply, LookupRequest
from schemas.subjects import subject_key

pytestmark = pytest.mark.broker

JINING, XUZHOU, HUAIBEI = "370800000000", "320300000000", "340600000000"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"
#: Events the tests below published themselves (beside the simulate run's).
PUBLISHED: list[ExchangeEvent] = []
SEED, RATE, DURATION = 14, 200, 2
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
CODEC = Codec()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Admin settings of a secured one-node cluster provisioned from an agreement in which
    every agency and bridge has a key (topics, users, ACLs): everything below is signed."""
    with secured_cluster(tmp_path_factory.mktemp("need-to-know")) as admin:
        yield admin


@pytest.fixture(scope="module")
def agreement(secured: Settings) -> Agreement:
    """The keyed agreement the cluster was provisioned from (overrides the session's)."""
    return load_agreement(secured.agreement)


@pytest.fixture(scope="module")
def simulated(
    secured: Settings, agreement: Agreement, tmp_path_factory: pytest.TempPathFactory
) -> list[ExchangeEvent]:
    """``hxbus simulate`` (as the operator) ran the seeded mix; the events it sent."""
    password = secured.sasl_password
    assert password is not None
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "HX_BOOTSTRAP": secured.bootstrap,
            "HX_STATE_DIR": str(secured.state_dir),
            "HX_AGREEMENT": str(secured.agreement),
            "HX_SASL_USERNAME": "admin",
            "HX_SASL_PASSWORD": password.get_secret_value(),
            "HX_METRICS_PORT": "0",
        }.items():
            patch.setenv(name, value)
        patch.setattr("hxbus.cli.configure_logging", lambda *_args, **_kwargs: None)
        code = main(
            [
                "simulate",
                "--rate",
                str(RATE),
                "--duration",
                str(DURATION),
                "--seed",
                str(SEED),
                "--start",
                START.isoformat(),
            ]
        )
    assert 0 == code
    traffic = SyntheticTraffic(
        agreement, seed=SEED, start=START, spacing=timedelta(seconds=1 / RATE)
    )
    return traffic.take(RATE * DURATION)


@pytest.fixture(scope="module")
def own_dead_letters(secured: Settings, simulated: list[ExchangeEvent]) -> dict[str, str]:
    """Each agency's own consumer (group ``<agency>.ntk-proof``, under its own login)
    dead-lettered everything in its inbox, as a consumer whose local system refuses
    every message would: so each agency has a DLQ topic of its own to read in the proof.
    Agency id -> that DLQ topic."""
    topics: dict[str, str] = {}
    for agency in load_agreement(secured.agreement).agencies:
        settings = login(secured, agency.id)
        dlq = DeadLetterQueue(
            settings, f"{agency.id}.ntk-proof", replication=1, min_insync_replicas=1
        )
        consumer = open_consumer(settings)
        try:
            starts = beginnings(consumer, [inbox_topic(agency.id)])
            for record in read_to_end(consumer, starts):
                dlq.send(
                    Origin(record.topic, record.partition, record.offset),
                    key=record.key,
                    value=record.value,
                    headers=list(record.headers),
                    error=SinkRejected("the local system refused it"),
                    reason="sink_rejected",
                )
            assert set() == dlq.flush()
        finally:
            consumer.close()
            dlq.close()
        topics[agency.id] = dlq.topic
    return topics


@pytest.fixture(scope="module")
def register_written(
    secured: Settings, agreement: Agreement, simulated: list[ExchangeEvent]
) -> str:
    """The alert register role ran over the simulate run (as the operator); the register
    topic's content as text."""
    run_register(secured, agreement, idle_timeout=3)
    return "\n".join(read_topic(secured, "hx.alerts.register"))


def tokens(record: dict[str, Any]) -> set[str]:
    """What identifies an alert or its subject: alert id, identity number, plate, VIN."""
    found = {str(record["alert_id"])}
    number = (record.get("subject") or {}).get("id_number")
    plate = (record.get("plate") or {}).get("number")
    for value in (number, plate, record.get("vin")):
        if value:
            found.add(str(value))
    return found


def forbidden_for(events: list[ExchangeEvent], agency: str) -> set[str]:
    """Tokens of the restricted alerts never shared with ``agency`` (that no alert it may
    see also carries)."""
    reached: dict[str, set[str]] = {}
    restricted: dict[str, set[str]] = {}
    allowed: set[str] = set()
    for event in events:
        if event.event_type not in ("PersonAlert", "VehicleAlert"):
            continue
        record = event.record
        if not is_restricted(record["handling"]):
            allowed |= tokens(record)
            continue
        alert_id = record["alert_id"]
        reached.setdefault(alert_id, set()).update(
            {record["issuing_agency"], *record["share_with"]}
        )
        restricted.setdefault(alert_id, set()).update(tokens(record))
    forbidden: set[str] = set()
    for alert_id, found in restricted.items():
        if agency in reached[alert_id]:
            allowed |= found
        else:
            forbidden |= found
    return forbidden - allowed


def readable_text(settings: Settings) -> tuple[set[str], set[str], str]:
    """Topics the login sees, those it could read, and everything read as decoded text."""
    consumer = open_consumer(settings)
    try:
        shown = set(consumer.topics())
    finally:
        consumer.close()
    readable: set[str] = set()
    parts: list[str] = []
    for topic in sorted(shown):
        try:
            parts.extend(read_topic(settings, topic))
        except NotAuthorized:
            continue
        readable.add(topic)
    return shown, readable, "\n".join(parts)


def list_topics(settings: Settings) -> list[str]:
    """The topics the login is shown (every topic, for the operator)."""
    consumer = open_consumer(settings)
    try:
        return sorted(consumer.topics())
    finally:
        consumer.close()


def read_topic(settings: Settings, topic: str) -> Iterator[str]:
    """Every record of ``topic`` from the beginning, as text (NotAuthorized when refused)."""
    consumer = open_consumer(settings)
    texts: list[str] = []
    try:
        starts = beginnings(consumer, [topic])
        texts.extend(as_text(record) for record in read_to_end(consumer, starts))
    finally:
        consumer.close()
    return iter(texts)


def as_text(record: Record) -> str:
    """A record decoded as far as it goes: key, headers, and the value as JSON."""
    parts = [(record.key or b"").decode("utf-8", "replace")]
    parts += [value.decode("utf-8", "replace") for _, value in record.headers]
    value = record.value or b""
    try:
        _, data = CODEC.decode(value)
        parts.append(json.dumps(data, default=str, ensure_ascii=False))
    except HxError:
        parts.append(value.decode("utf-8", "replace"))
    return "\n".join(parts)


def test_simulated_traffic_has_restricted_alerts_for_the_proof(
    simulated: list[ExchangeEvent],
) -> None:
    """The run under test carries need-to-know alerts, revisions and status changes."""
    restricted = {
        e.record["alert_id"]
        for e in simulated
        if e.event_type in ("PersonAlert", "VehicleAlert") and is_restricted(e.record["handling"])
    }
    changed = {e.record["alert_id"] for e in simulated if e.event_type == "AlertStatusChange"}
    revised = {
        e.record["alert_id"]
        for e in simulated
        if e.event_type in ("PersonAlert", "VehicleAlert") and e.record["revision"] > 1
    }
    assert (True, True, True) == (
        len(restricted) >= 5,
        bool(restricted & changed),
        bool(restricted & revised),
    )


def test_restricted_copies_are_in_the_recipients_inboxes(
    secured: Settings, simulated: list[ExchangeEvent]
) -> None:
    """The proof is not vacuous: each restricted alert's id is in each recipient's inbox."""
    expected: dict[str, set[str]] = {}
    for event in simulated:
        record = event.record
        if event.event_type in ("PersonAlert", "VehicleAlert") and is_restricted(
            record["handling"]
        ):
            for agency in {record["issuing_agency"], *record["share_with"]}:
                expected.setdefault(agency, set()).add(record["alert_id"])
    found = {
        agency: {a for a in alert_ids if a in "\n".join(read_topic(secured, inbox_topic(agency)))}
        for agency, alert_ids in expected.items()
    }
    assert expected == found


def test_jining_consumer_cannot_read_xuzhou_inbox(secured: Settings) -> None:
    """A plain consumer logged in as Jining, on Xuzhou's inbox: authorization error."""
    topic = inbox_topic(XUZHOU)
    with pytest.raises(NotAuthorized) as refused:
        list(read_topic(login(secured, JINING), topic))
    assert "TOPIC_AUTHORIZATION_FAILED" == refusal_name(refused.value)
    with pytest.raises(NotAuthorized) as in_group:
        poll_in_group(login(secured, JINING), topic, f"{JINING}.t-{uuid.uuid4().hex[:8]}")
    assert "TOPIC_AUTHORIZATION_FAILED" == refusal_name(in_group.value)


def poll_in_group(settings: Settings, topic: str, group: str) -> None:
    """Subscribe in a consumer group of the login's own and poll (NotAuthorized if refused)."""
    consumer = open_consumer(settings, ConsumerOptions(group_id=group))
    try:
        consumer.subscribe([topic])
        for _ in range(3):
            consumer.poll(2.0)
    finally:
        consumer.close()


# -- the duplicate check through the lookup service ----------------------------------------

SUBJECT_NUMBER = "320303198804120419"


def restricted_alert(agreement: Agreement, issuer: str, share_with: list[str]) -> ExchangeEvent:
    """A fresh NEED_TO_KNOW PersonAlert of ``issuer`` on SUBJECT_NUMBER."""
    raw = json.loads((FIXTURES / "person_alert_xuzhou.json").read_text(encoding="utf-8"))
    raw["id"] = str(uuid.uuid4())
    raw["source"] = issuer
    raw["data"].update(
        alert_id=str(uuid.uuid4()),
        issuing_agency=issuer,
        handling="NEED_TO_KNOW",
        share_with=share_with,
    )
    raw["data"]["subject"]["id_number"] = SUBJECT_NUMBER
    event = parse_event(raw, agreement)
    assert isinstance(event, ExchangeEvent), event
    return event


@pytest.fixture(scope="module")
def lookup_service(secured: Settings, agreement: Agreement) -> Iterator[threading.Event]:
    """The operator's lookup service, running in a thread as admin."""
    stop, ready = threading.Event(), threading.Event()
    worker = threading.Thread(
        target=run_lookup,
        args=(secured, agreement),
        kwargs={"stop": stop, "on_ready": ready.set, "verifier": verify(agreement)},
        daemon=True,
    )
    worker.start()
    assert ready.wait(60), "the lookup service did not start"
    yield stop
    stop.set()
    worker.join(30)


def publish_as(secured: Settings, agreement: Agreement, event: ExchangeEvent) -> PublishOutcome:
    """Publish through ``hxbus publish``'s path under the issuer's own login."""
    agency = event.envelope.source
    settings = login(secured, agency)
    signer = agreement_signer(settings, agreement, agency)
    lookup = LookupClient(settings, agency, signer=signer)
    try:
        with Publisher(
            settings,
            agreement,
            signer=signer,
            delivery_timeout_ms=30_000,
            live_alerts=AlertRegister(),
            lookup=lookup,
        ) as publisher:
            outcome = next(publisher.publish_many([event]))
    finally:
        lookup.close()
    if outcome.ok:
        PUBLISHED.append(outcome.event)
    return outcome


def verify(agreement: Agreement) -> Verifier:
    verifier = agreement_verifier(agreement, role="lookup")
    assert verifier is not None
    return verifier


def wait_for_hit(secured: Settings, agreement: Agreement, agency: str) -> LookupReply:
    """Ask as ``agency`` until the service has folded the alert (it follows the inboxes)."""
    settings = login(secured, agency)
    client = LookupClient(settings, agency, signer=agreement_signer(settings, agreement, agency))
    key = subject_key("person", SUBJECT_NUMBER)
    try:
        for _ in range(60):
            reply = client.ask(key)
            if reply.hit:
                return reply
            time.sleep(0.5)
    finally:
        client.close()
    raise AssertionError("the lookup service never saw the alert")


def test_duplicate_check_refuses_and_notes_through_the_lookup(
    secured: Settings, agreement: Agreement, lookup_service: threading.Event
) -> None:
    """Jining's restricted alert on a subject: a second new one of Jining's is refused
    naming the first; Xuzhou's goes, with a notice naming Jining and no alert id; the
    lookup shows Jining its own id and Xuzhou none."""
    first = restricted_alert(agreement, JINING, [HUAIBEI])
    assert publish_as(secured, agreement, first).ok
    own_view = wait_for_hit(secured, agreement, JINING)
    other_view = wait_for_hit(secured, agreement, XUZHOU)
    assert ((JINING,), (first.record["alert_id"],)) == (own_view.issuers, own_view.alert_ids)
    assert ((JINING,), ()) == (other_view.issuers, other_view.alert_ids)

    again = publish_as(secured, agreement, restricted_alert(agreement, JINING, [HUAIBEI]))
    assert isinstance(again.error, DuplicateAlert)
    (issue,) = again.error.issues
    assert ("subject.id_number", True) == (issue.path, first.record["alert_id"] in issue.rule)

    theirs = publish_as(secured, agreement, restricted_alert(agreement, XUZHOU, [HUAIBEI]))
    assert theirs.ok, theirs.error
    (notice,) = theirs.notices
    assert (True, False) == (JINING in notice.rule, first.record["alert_id"] in notice.rule)


def test_lookup_index_holds_tokens_not_numbers(
    secured: Settings, lookup_service: threading.Event
) -> None:
    """The operator's index topic holds keyed tokens: no identity number, no unkeyed key;
    the lookup key file is the operator's alone (0600)."""
    text = "\n".join(read_topic(secured, "hx.lookup.index"))
    unkeyed = subject_key("person", SUBJECT_NUMBER)
    assert (True, False, False) == ("token:" in text, SUBJECT_NUMBER in text, unkeyed in text)
    assert 0o600 == lookup_key_file(secured.state_dir).stat().st_mode & 0o777


def test_lookup_index_survives_a_restart_from_its_topic(
    secured: Settings, agreement: Agreement, lookup_service: threading.Event
) -> None:
    """A restarted service loads the index from hx.lookup.index and the inboxes past its
    committed offsets: the subject of Jining's alert (published by the test above) still
    hits, with the same key file."""
    wait_for_hit(secured, agreement, JINING)  # the running service has folded and written it
    admin = open_admin(secured)
    try:
        partitions = [TopicPartition(inbox_topic(JINING), p) for p in range(3)]
        committed = admin.committed_offsets(INBOX_GROUP, partitions)
    finally:
        admin.close()
    index = LookupIndex(load_lookup_key(secured.state_dir))
    load_index(secured, agreement, index)
    reply = index.answer(JINING, LookupRequest("r", subject_key("person", SUBJECT_NUMBER)))
    assert (True, True) == (reply.hit, JINING in reply.issuers)
    assert any(offset is not None and offset > 0 for offset in committed.values())


# -- what an agency's views show: its own restricted alerts, from its own inbox ------------


def restricted_alert_ids(events: list[ExchangeEvent], agency: str) -> tuple[set[str], set[str]]:
    """The ids of the restricted alerts ``agency`` issued or shares, and of the others."""
    reached: dict[str, set[str]] = {}
    for event in events:
        record = event.record
        if event.event_type in ("PersonAlert", "VehicleAlert") and is_restricted(
            record["handling"]
        ):
            reached.setdefault(record["alert_id"], set()).update(
                {record["issuing_agency"], *record["share_with"]}
            )
    mine = {alert_id for alert_id, agencies in reached.items() if agency in agencies}
    return mine, set(reached) - mine


@pytest.mark.parametrize("agency", [JINING, HUAIBEI])
def test_alerts_lists_the_restricted_alerts_an_agency_issued_or_shares(
    secured: Settings,
    simulated: list[ExchangeEvent],
    agency: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``hxbus alerts --json`` under an agency's own login lists every restricted alert it
    issued or was shared with (from its inbox copies) and none other; the operator's
    login, no agency, lists no restricted alert at all."""
    mine, others = restricted_alert_ids([*simulated, *PUBLISHED], agency)
    listed = {}
    for user in (agency, "admin"):
        capsys.readouterr()
        with pytest.MonkeyPatch.context() as patch:
            as_user = secured if user == "admin" else login(secured, user)
            for name, value in login_env(as_user).items():
                patch.setenv(name, value)
            patch.setattr("hxbus.cli.configure_logging", lambda *_args, **_kwargs: None)
            assert 0 == main(["alerts", "--json"])
        lines = capsys.readouterr().out.splitlines()  # log lines too: not JSON objects
        listed[user] = {json.loads(line)["alert_id"] for line in lines if line.startswith("{")}
    assert (True, mine, set(), set()) == (
        bool(mine),
        listed[agency] & (mine | others),
        listed[agency] & others,
        listed["admin"] & (mine | others),
    )


@pytest.mark.parametrize("agency", [JINING, HUAIBEI])
def test_console_shows_an_agency_the_restricted_alerts_it_issued_or_shares(
    secured: Settings, agreement: Agreement, simulated: list[ExchangeEvent], agency: str
) -> None:
    """The console's topic reader, under the agency's own login, folds the restricted
    alerts of its own inbox: the agency sees each one it issued or shares, and no other;
    another principal looking at the same book does not see them."""
    mine, others = restricted_alert_ids([*simulated, *PUBLISHED], agency)
    book = AlertBook()
    reader = TopicReader(
        login(secured, agency),
        [agency],
        book,
        FlowCounter(),
        own_inbox=agency,
        verifier=agreement_verifier(agreement, role="console"),
    )
    reader.start()
    try:
        for _ in range(240):
            if not reader.loading:
                break
            time.sleep(0.25)
    finally:
        reader.stop()
    stranger = XUZHOU if agency != XUZHOU else JINING

    def shown(principal: str) -> set[str]:
        rows, _ = book.rows(Principal(principal), now=START)
        return {row["alert_id"] for row in rows}

    # The book shows at most MAX_ROWS alerts: the run made fewer, broadcast ones included.
    assert len({e.record["alert_id"] for e in simulated if "alert_id" in e.record}) < MAX_ROWS
    assert (False, None, mine, set(), set()) == (
        reader.loading,
        reader.error,
        shown(agency) & (mine | others),
        shown(agency) & others,
        shown(stranger) & (mine - restricted_alert_ids(PUBLISHED + simulated, stranger)[0]),
    )


# Last: it reads what every test above left on the broker.
def test_no_agency_reads_any_field_of_a_restricted_alert_not_shared_with_it(
    secured: Settings,
    agreement: Agreement,
    simulated: list[ExchangeEvent],
    lookup_service: threading.Event,
    register_written: str,
    own_dead_letters: dict[str, str],
) -> None:
    """Each agency, under its own login, reads every topic the broker shows it from the
    start: its inbox, the broadcast topics, the register, its lookup answers and its own
    DLQ, and nothing else (not the audit, the lookup questions or index, another's inbox
    or DLQ); no alert id, identity number, plate or VIN of a restricted alert not shared
    with it appears anywhere (the simulate run's and those the lookup tests published)."""
    alerts = [e for e in simulated if e.event_type in ("PersonAlert", "VehicleAlert")]
    shared = {e.record["alert_id"] for e in alerts if not is_restricted(e.record["handling"])}
    restricted = {e.record["alert_id"] for e in alerts if is_restricted(e.record["handling"])}
    assert (True, []) == (  # the register holds the broadcast alerts, none restricted
        all(a in register_written for a in shared),
        sorted(a for a in restricted if a in register_written),
    )
    leaks: dict[str, list[str]] = {}
    readable_by: dict[str, set[str]] = {}
    for agency in agreement.agencies:
        _, readable, text = readable_text(login(secured, agency.id))
        readable_by[agency.id] = readable
        forbidden = forbidden_for([*simulated, *PUBLISHED], agency.id)
        assert forbidden, f"{agency.id}: the run shared everything with it: no proof"
        leaks[agency.id] = sorted(t for t in forbidden if t in text)
    assert {a.id: [] for a in agreement.agencies} == leaks
    assert {
        a.id: {
            "hx.alerts.person",
            "hx.alerts.vehicle",
            "hx.alerts.register",
            inbox_topic(a.id),
            f"hx.lookup.replies.{a.id}",
            own_dead_letters[a.id],
        }
        for a in agreement.agencies
    } == readable_by
    # The topics it could not read exist and hold what the proof is about.
    assert {AUDIT_TOPIC, "hx.lookup.requests", "hx.lookup.index"} <= set(list_topics(secured))


def test_lookup_service_run_stops_itself_when_idle(secured: Settings) -> None:
    """``hxbus lookup-service run --group G --until-idle 2`` (the common role options)
    loads its index, answers what is asked, and exits 0 on its own once idle."""
    group = f"hx.lookup.idle-{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        [sys.executable, "-m", "hxbus", "lookup-service", "run", "--group", group,
         "--until-idle", "2"],
        env={**os.environ, **login_env(secured)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )  # fmt: skip
    # A new group reads hx.lookup.requests from its start: earlier tests' questions may
    # be answered again (replies are idempotent); the count is not the point here.
    answered = re.search(r"lookup service: \d+ questions answered", done.stderr)
    assert (0, True) == (done.returncode, answered is not None)
