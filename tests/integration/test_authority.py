"""Authority at the receiver (design.md, "Authority: who may say what"), on a secured broker.

One secured one-node cluster for the module (SCRAM logins, ACLs provisioned, a fresh
Ed25519 key for every agency in the agreement the receivers load). Legitimate traffic is
published through the Publisher, signed by each source; then every forgery is sent with a
plain kafka-python producer logged in as a legitimate agency and signed with that
agency's own key (``Ed25519Signer`` on the exact bytes, not hxbus's publish path). Henan's
bridge (Shangqiu is its only agency: every forged hit, confirmation, request and response
is addressed to Shangqiu) then runs once, as its own principal ``bridge-ha``, until idle.

Each test checks one attack of issue 14 or one row of the Authority table: the forged
message is not in Henan's local inbox, its DLQ entry says ``not_authorized`` and names
the rule, its audit record is SECURITY_REJECTED, and the refusal is counted.
"""

from __future__ import annotations

import importlib.util
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from own_broker_support import free_port_pair
from prometheus_client import REGISTRY
from pydantic import SecretStr
from raw_kafka import send_raw
from topic_reading import partitions_of, read_records

from bridge import SinkChoice, run_inbound
from bridge.audit_writer import audit_codec
from consumers import RetryPolicy, read_dead_letters
from hxbus import broker
from producers import Publisher, SyntheticTraffic, fan_out_message_id
from runtime import (
    Ed25519Signer,
    Settings,
    agreement_verifier,
    open_consumer,
    run_provisioning,
)
from runtime.access import run_access_provisioning
from runtime.secrets import password_file, read_secret
from runtime.signing import AgencySigners
from runtime.signing_keys import add_public_key, public_key_text
from schemas import (
    AUDIT_TOPIC,
    DEFAULT_AGREEMENT_PATH,
    Agreement,
    Codec,
    Envelope,
    ExchangeEvent,
    envelope_headers,
    inbox_topic,
    load_agreement,
    record_key,
)

pytestmark = pytest.mark.broker

XUZHOU, JINING, SHANGQIU, HUAIBEI = "320300000000", "370800000000", "411400000000", "340600000000"
GROUP = "hx.bridge.ha"
REPO = Path(__file__).resolve().parents[2]


def _unit_helpers() -> ModuleType:
    """tests/unit/tracker_support.py: fixture hits, requests and responses, re-timed."""
    path = REPO / "tests" / "unit" / "tracker_support.py"
    spec = importlib.util.spec_from_file_location("tracker_support_for_authority", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


events = _unit_helpers()


@dataclass
class Outcome:
    """What the run left behind, by message id."""

    inbox: set[str]
    dlq: dict[str, tuple[str, str, str]]  # message id -> (reason, rule, message)
    audit: dict[str, tuple[str, str]]  # message id -> (outcome, reason)
    counted: dict[str, float]  # rule -> rejections counted during the run
    legit: list[str] = field(default_factory=list)
    forged: dict[str, str] = field(default_factory=dict)  # name -> message id
    sender_copies: list[str] = field(default_factory=list)  # of Shangqiu's hit and request
    #: Jining's confirmation and response written before the hit and request they answer.
    early_answers: list[str] = field(default_factory=list)


def login(admin: Settings, user: str, agreement_path: Path) -> Settings:
    return Settings(
        bootstrap=admin.bootstrap,
        sasl_username=user,
        sasl_password=SecretStr(read_secret(password_file(admin.state_dir, user))),
        state_dir=admin.state_dir,
        agreement=agreement_path,
    )


def pick(traffic: list[ExchangeEvent], event_type: str, issuer: str) -> ExchangeEvent:
    return next(
        e
        for e in traffic
        if e.event_type == event_type
        and e.envelope.source == issuer
        and e.record["handling"] == "SHARE_ALL_PARTNERS"
    )


def with_record(event: ExchangeEvent, **changes: Any) -> ExchangeEvent:
    return ExchangeEvent(event.envelope, {**event.record, **changes})


def forged(
    event_type: str,
    source: str,
    record: dict[str, Any],
    target: str | None = None,
) -> ExchangeEvent:
    return ExchangeEvent(Envelope(event_type, source, str(uuid.uuid4()), target=target), record)


def send_forged(
    settings: Settings, topic: str, event: ExchangeEvent, key: Ed25519PrivateKey
) -> None:
    """A plain kafka-python producer under the source's login, signed with its own key."""
    codec = Codec()
    value = codec.encode(event.event_type, event.record)
    message_key = record_key(event.event_type, event.record)
    headers = envelope_headers(event.envelope, codec.fingerprint(event.event_type))
    source = event.envelope.source
    headers += Ed25519Signer(source, key).sign(topic, message_key, value, headers)
    send_raw(settings, topic, key=message_key, value=value, headers=headers)


def rejections() -> dict[str, float]:
    """hx_authority_rejections_total of the bridge, by rule, in this process."""
    counted: dict[str, float] = {}
    for metric in REGISTRY.collect():
        if metric.name != "hx_authority_rejections":
            continue
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels.get("role") == "bridge":
                rule = sample.labels["rule"]
                counted[rule] = counted.get(rule, 0.0) + sample.value
    return counted


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    """Start the secured cluster, publish, forge, run Henan's bridge once; what it left."""
    state = tmp_path_factory.mktemp("authority")
    agreement_path = state / "agencies.toml"
    shutil.copyfile(DEFAULT_AGREEMENT_PATH, agreement_path)
    plain = load_agreement(agreement_path)
    keys = {a.id: Ed25519PrivateKey.generate() for a in plain.agencies}
    for agency, key in keys.items():
        add_public_key(agreement_path, agency, public_key_text(key.public_key()))
    agreement = load_agreement(agreement_path)
    root = state / "broker"
    cluster = broker.start_cluster(root, nodes=1, port=free_port_pair(), secure=True, timeout=180)
    try:
        admin = broker.admin_settings(cluster).model_copy(
            update={"state_dir": state, "agreement": agreement_path}
        )
        run_provisioning(admin, agreement)
        assert run_access_provisioning(admin, agreement) is not None
        yield _scenario(admin, agreement, agreement_path, keys, state)
    finally:
        broker.stop_cluster(root)


def _scenario(
    admin: Settings,
    agreement: Agreement,
    agreement_path: Path,
    keys: dict[str, Ed25519PrivateKey],
    state: Path,
) -> Outcome:
    now = datetime.now(UTC).replace(microsecond=0)
    traffic = SyntheticTraffic(agreement, seed=1414, start=now).take(3000)
    # Legitimate traffic: what the receivers learn who said what from.
    alert_j = pick(traffic, "PersonAlert", JINING)  # Jining's, shared with every partner
    alert_s1 = pick(traffic, "PersonAlert", SHANGQIU)
    alert_s2 = with_record(
        pick(traffic, "VehicleAlert", SHANGQIU), handling="NEED_TO_KNOW", share_with=[JINING]
    )
    hit_s = events.hit(agreement, now, reporter=SHANGQIU, issuer=JINING)  # Shangqiu's hit
    hit_s = with_record(hit_s, alert_id=alert_j.record["alert_id"], alert_kind="PERSON")
    hit_j = events.hit(agreement, now, reporter=JINING, issuer=SHANGQIU)  # Jining's hit on S1
    hit_j = with_record(hit_j, alert_id=alert_s1.record["alert_id"], alert_kind="PERSON")
    hour = timedelta(hours=1)
    request_s = events.request(
        agreement,
        now,
        ack_in=hour,
        respond_in=2 * hour,
        requester=SHANGQIU,
        targets=(JINING, HUAIBEI),
        priority="ROUTINE",
    )
    request_j = events.request(
        agreement,
        now,
        ack_in=hour,
        respond_in=2 * hour,
        requester=JINING,
        targets=(SHANGQIU, HUAIBEI),
        priority="ROUTINE",
    )
    legit = [alert_j, alert_s1, alert_s2, hit_s, hit_j, request_s, request_j]
    signers = AgencySigners({a: Ed25519Signer(a, k) for a, k in keys.items()})
    with Publisher(admin, agreement, signer=signers, delivery_timeout_ms=30_000) as publisher:
        for event in legit:
            publisher.publish(event)

    # Answered before asked: Jining's confirmation of Shangqiu's second hit and its response
    # to Shangqiu's second request reach Shangqiu's inbox before that hit and that request
    # are published (a slow reporter's desk, a copy retried), so the sender's copies go to
    # the same partitions (same key: hit_id, request_id) behind the answers.
    hit_s2 = events.hit(agreement, now, reporter=SHANGQIU, issuer=JINING)
    hit_s2 = with_record(hit_s2, alert_id=alert_j.record["alert_id"], alert_kind="PERSON")
    request_s2 = events.request(
        agreement,
        now,
        ack_in=hour,
        respond_in=2 * hour,
        requester=SHANGQIU,
        targets=(JINING,),
        priority="ROUTINE",
    )
    early_answers = [
        events.confirmation(agreement, hit_s2, now),
        events.response(agreement, request_s2, JINING, "ACCEPTED", now),
    ]
    for answer in early_answers:
        send_forged(
            login(admin, JINING, agreement_path), inbox_topic(SHANGQIU), answer, keys[JINING]
        )
    with Publisher(admin, agreement, signer=signers, delivery_timeout_ms=30_000) as publisher:
        for event in (hit_s2, request_s2):
            publisher.publish(event)

    # The forgeries: (name, login, topic, event).
    a_id, s1_id, s2_id = (a.record["alert_id"] for a in (alert_j, alert_s1, alert_s2))
    inbox = inbox_topic(SHANGQIU)
    withdrawal = {
        "alert_id": a_id,
        "alert_kind": "PERSON",
        "status": "WITHDRAWN",
        "reason": "forged",
        "changed_at": now,
        "agency": XUZHOU,
    }

    def hit_record(alert_id: str, reporter: str) -> dict[str, Any]:
        return {
            **hit_j.record,
            "hit_id": str(uuid.uuid4()),
            "alert_id": alert_id,
            "reporting_agency": reporter,
        }

    confirmation = events.confirmation(agreement, hit_s, now).record
    response = events.response(agreement, request_s, JINING, "ACCEPTED", now).record
    response_j = events.response(agreement, request_j, HUAIBEI, "ACCEPTED", now).record
    foreign_request = {
        **request_s.record,
        "request_id": str(uuid.uuid4()),
        "requesting_agency": XUZHOU,
        "target_agencies": [HUAIBEI],
    }
    attacks: list[tuple[str, str, str, ExchangeEvent]] = [
        ("withdraw", XUZHOU, "hx.alerts.person", forged("AlertStatusChange", XUZHOU, withdrawal)),
        (
            "revision_5",
            XUZHOU,
            "hx.alerts.person",
            forged(
                "PersonAlert", XUZHOU, {**alert_j.record, "revision": 5, "issuing_agency": XUZHOU}
            ),
        ),
        (
            "issued_as_jining",
            XUZHOU,
            "hx.alerts.person",
            forged("PersonAlert", XUZHOU, {**alert_j.record, "alert_id": str(uuid.uuid4())}),
        ),
        (
            "wrong_kind",
            JINING,
            "hx.alerts.vehicle",
            forged(
                "AlertStatusChange",
                JINING,
                {**withdrawal, "alert_kind": "VEHICLE", "agency": JINING},
            ),
        ),
        (
            "hit_as_huaibei",
            XUZHOU,
            inbox,
            forged("AlertHit", XUZHOU, hit_record(s1_id, HUAIBEI), SHANGQIU),
        ),
        (
            "hit_not_to_issuer",
            XUZHOU,
            inbox,
            forged("AlertHit", XUZHOU, hit_record(a_id, XUZHOU), SHANGQIU),
        ),
        (
            "hit_not_shared",
            XUZHOU,
            inbox,
            forged("AlertHit", XUZHOU, hit_record(s2_id, XUZHOU), SHANGQIU),
        ),
        (
            "hit_unknown_alert",
            XUZHOU,
            inbox,
            forged("AlertHit", XUZHOU, hit_record(str(uuid.uuid4()), XUZHOU), SHANGQIU),
        ),
        (
            "hit_in_wrong_inbox",
            XUZHOU,
            inbox,
            forged("AlertHit", XUZHOU, hit_record(s1_id, XUZHOU), JINING),
        ),
        (
            "confirm_as_xuzhou",
            XUZHOU,
            inbox,
            forged("HitConfirmation", XUZHOU, {**confirmation, "agency": XUZHOU}, SHANGQIU),
        ),
        (
            "confirm_other_alert",
            JINING,
            inbox,
            forged("HitConfirmation", JINING, {**confirmation, "alert_id": s1_id}, SHANGQIU),
        ),
        (
            "confirm_not_to_reporter",
            XUZHOU,
            inbox,
            forged(
                "HitConfirmation",
                XUZHOU,
                {
                    **confirmation,
                    "hit_id": hit_j.record["hit_id"],
                    "alert_id": s1_id,
                    "agency": XUZHOU,
                },
                SHANGQIU,
            ),
        ),
        (
            "request_as_jining",
            XUZHOU,
            inbox,
            forged(
                "AssistanceRequest",
                XUZHOU,
                {**foreign_request, "requesting_agency": JINING, "target_agencies": [SHANGQIU]},
                SHANGQIU,
            ),
        ),
        (
            "request_not_a_target",
            XUZHOU,
            inbox,
            forged("AssistanceRequest", XUZHOU, foreign_request, SHANGQIU),
        ),
        (
            "response_as_jining",
            XUZHOU,
            inbox,
            forged("AssistanceResponse", XUZHOU, response, SHANGQIU),
        ),
        (
            "response_not_asked",
            XUZHOU,
            inbox,
            forged(
                "AssistanceResponse", XUZHOU, {**response, "responding_agency": XUZHOU}, SHANGQIU
            ),
        ),
        (
            "response_not_to_requester",
            HUAIBEI,
            inbox,
            forged("AssistanceResponse", HUAIBEI, response_j, SHANGQIU),
        ),
    ]
    for _name, user, topic, event in attacks:
        send_forged(login(admin, user, agreement_path), topic, event, keys[user])

    before = rejections()
    bridge_settings = login(admin, "bridge-ha", agreement_path)
    root = state / "henan"
    run_inbound(
        bridge_settings,
        agreement,
        "HA",
        SinkChoice("directory", root),
        group=GROUP,
        verifier=agreement_verifier(agreement, role="bridge"),
        max_idle=10.0,
        # An alert on hx.alerts.* may come after a hit on it in an inbox: a few quick
        # retries wait for it; one that never comes is refused within seconds.
        retry=RetryPolicy(base_delay=0.2, max_delay=1.0, unknown_after=8),
    )
    after = rejections()
    counted = {rule: after[rule] - before.get(rule, 0.0) for rule in after}

    dlq = {}
    for entry in read_dead_letters(admin, GROUP):
        dlq[entry.header("ce_id") or ""] = (
            entry.header("hx_dlq_reason") or "",
            entry.header("hx_dlq_rule") or "",
            entry.header("hx_dlq_message") or "",
        )
    audit = {}
    codec = audit_codec()
    for record in read_records(admin, partitions_of(AUDIT_TOPIC, _partitions(admin, AUDIT_TOPIC))):
        _type, data = codec.decode(record.value)
        audit[data["message_id"]] = (data["outcome"], data["reason"] or "")
    inbox_dir = root / "inbox"
    delivered = (
        {p.name.split(".", 1)[0] for p in inbox_dir.iterdir()} if inbox_dir.is_dir() else set()
    )
    return Outcome(
        inbox=delivered,
        dlq=dlq,
        audit=audit,
        counted=counted,
        legit=[e.envelope.message_id for e in legit],
        forged={name: event.envelope.message_id for name, _u, _t, event in attacks},
        sender_copies=[
            fan_out_message_id(e.envelope.message_id, SHANGQIU) for e in (hit_s, request_s)
        ],
        early_answers=[e.envelope.message_id for e in early_answers],
    )


def _partitions(settings: Settings, topic: str) -> int:
    consumer = open_consumer(settings)
    try:
        return len(consumer.partitions_for_topic(topic))
    finally:
        consumer.close()


def refused(run: Outcome, name: str, rule: str) -> None:
    """The forged message ``name``: not delivered, dead-lettered not_authorized naming
    ``rule``, audited SECURITY_REJECTED, counted."""
    message_id = run.forged[name]
    reason, dlq_rule, text = run.dlq.get(message_id, ("", "", ""))
    outcome, audit_reason = run.audit.get(message_id, ("", ""))
    assert (False, "not_authorized", rule, True, "SECURITY_REJECTED", True, True) == (
        message_id in run.inbox,
        reason,
        dlq_rule,
        text.startswith(f"{rule}: "),
        outcome,
        audit_reason.startswith(f"not_authorized: {rule}: "),
        run.counted.get(rule, 0.0) >= 1.0,
    )


# -- the attacks of issue 14 ------------------------------------------------------------------


def test_xuzhou_withdrawing_jinings_alert_is_refused(run: Outcome) -> None:
    """Xuzhou signs, as itself, a WITHDRAWN status change of Jining's alert: refused,
    status_not_by_issuer."""
    refused(run, "withdraw", "status_not_by_issuer")


def test_xuzhou_revision_5_of_jinings_alert_is_refused(run: Outcome) -> None:
    """Xuzhou signs, as itself, revision 5 of Jining's alert: refused, revision_issuer_changed."""
    refused(run, "revision_5", "revision_issuer_changed")


def test_alert_naming_jining_signed_by_xuzhou_is_refused(run: Outcome) -> None:
    """An alert whose issuing_agency is Jining, signed by Xuzhou as itself: issuer_mismatch."""
    refused(run, "issued_as_jining", "issuer_mismatch")


# -- the rows of the Authority table -------------------------------------------------------


def test_status_change_of_the_wrong_kind_is_refused(run: Outcome) -> None:
    """Jining's own status change saying VEHICLE of its PERSON alert: status_kind_mismatch."""
    refused(run, "wrong_kind", "status_kind_mismatch")


def test_hit_not_signed_by_its_reporter_is_refused(run: Outcome) -> None:
    """A hit naming Huaibei as reporter, signed by Xuzhou: hit_not_by_reporter."""
    refused(run, "hit_as_huaibei", "hit_not_by_reporter")


def test_hit_sent_to_another_than_the_issuer_is_refused(run: Outcome) -> None:
    """A hit on Jining's alert sent to Shangqiu: hit_not_to_issuer."""
    refused(run, "hit_not_to_issuer", "hit_not_to_issuer")


def test_hit_on_an_alert_not_shared_with_the_reporter_is_refused(run: Outcome) -> None:
    """A hit by Xuzhou on Shangqiu's NEED_TO_KNOW alert shared with Jining only:
    hit_alert_not_shared."""
    refused(run, "hit_not_shared", "hit_alert_not_shared")


def test_hit_on_an_alert_nobody_knows_is_retried_then_refused(run: Outcome) -> None:
    """A hit on an alert id no receiver ever saw: never accepted blindly; retried, then
    refused as alert_unknown."""
    refused(run, "hit_unknown_alert", "alert_unknown")


def test_message_in_an_inbox_not_its_targets_is_refused(run: Outcome) -> None:
    """A hit addressed to Jining written into Shangqiu's inbox: target_not_inbox_owner."""
    refused(run, "hit_in_wrong_inbox", "target_not_inbox_owner")


def test_confirmation_not_by_the_alerts_issuer_is_refused(run: Outcome) -> None:
    """Xuzhou confirms Shangqiu's hit on Jining's alert: confirmation_not_by_issuer."""
    refused(run, "confirm_as_xuzhou", "confirmation_not_by_issuer")


def test_confirmation_naming_another_alert_is_refused(run: Outcome) -> None:
    """Jining confirms Shangqiu's hit naming another alert than the hit's:
    confirmation_wrong_alert."""
    refused(run, "confirm_other_alert", "confirmation_wrong_alert")


def test_confirmation_not_to_the_hits_reporter_is_refused(run: Outcome) -> None:
    """A confirmation of Jining's hit sent to Shangqiu: confirmation_not_to_reporter."""
    refused(run, "confirm_not_to_reporter", "confirmation_not_to_reporter")


def test_request_not_signed_by_its_requester_is_refused(run: Outcome) -> None:
    """A request naming Jining as requester, signed by Xuzhou: request_not_by_requester."""
    refused(run, "request_as_jining", "request_not_by_requester")


def test_request_copy_to_an_agency_not_among_its_targets_is_refused(run: Outcome) -> None:
    """Xuzhou's request to Huaibei written into Shangqiu's inbox: request_copy_not_a_target."""
    refused(run, "request_not_a_target", "request_copy_not_a_target")


def test_response_not_signed_by_its_responder_is_refused(run: Outcome) -> None:
    """A response naming Jining as responder, signed by Xuzhou: response_not_by_responder."""
    refused(run, "response_as_jining", "response_not_by_responder")


def test_response_by_an_agency_not_asked_is_refused(run: Outcome) -> None:
    """Xuzhou answers Shangqiu's request to Jining and Huaibei: response_not_a_target."""
    refused(run, "response_not_asked", "response_not_a_target")


def test_response_not_to_the_requester_is_refused(run: Outcome) -> None:
    """Huaibei answers Jining's request into Shangqiu's inbox: response_not_to_requester."""
    refused(run, "response_not_to_requester", "response_not_to_requester")


def test_legitimate_traffic_is_delivered_or_filtered_never_refused(run: Outcome) -> None:
    """The DLQ holds the forgeries and nothing else (no legitimate message, no sender's
    copy, is refused); Jining's alert and Jining's hit on Shangqiu's alert reach Henan;
    the sender's copies of Shangqiu's own hit and request do not."""
    expected = {run.legit[0], run.legit[4]}  # Jining's alert, Jining's hit on S1
    assert (set(run.forged.values()), True, set()) == (
        set(run.dlq),
        expected <= run.inbox,
        set(run.sender_copies) & run.inbox,
    )


def test_answers_written_before_their_hit_and_request_are_delivered(run: Outcome) -> None:
    """A confirmation and a response in the reporter's/requester's inbox ahead of the
    sender's copy of the hit/request they answer (same partition, behind them): both are
    delivered and audited DELIVERED, neither is dead-lettered."""
    assert ([True, True], [None, None], ["DELIVERED", "DELIVERED"]) == (
        [m in run.inbox for m in run.early_answers],
        [run.dlq.get(m) for m in run.early_answers],
        [run.audit.get(m, ("", ""))[0] for m in run.early_answers],
    )
