"""Trust on a secured broker (issue 14, parts 3 and 4), on a cluster of the module's own
(SASL/SCRAM, ACLs) whose agreement lists a key of every agency and every bridge:

- an audit nobody can forge: a record written under a bridge's login in another bridge's
  name, or claiming a delivery outside the writer's province, shows as UNVERIFIED in
  ``hxbus audit --alert``; records the bridges signed show as verified;
- an agency's own login is enough for ``hxbus publish``, ``simulate``, ``alerts`` and
  ``dlq``;
- a receiver refuses unsigned messages there even when the agreement lists no key.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from raw_kafka import send_raw
from secured_support import login, login_env, secured_cluster

from bridge.audit_writer import (
    AUDIT_RECORD_TYPE,
    AuditOutcome,
    AuditScope,
    AuditWriter,
    audit_codec,
    audit_key,
)
from consumers import DeadLetterQueue, Origin
from hxbus.cli import main
from runtime import Settings, bridge_signer, load_signer
from schemas import AUDIT_TOPIC, Envelope, inbox_topic, load_agreement

pytestmark = pytest.mark.broker

XUZHOU, ZAOZHUANG, JINING = "320300000000", "370400000000", "370800000000"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with secured_cluster(tmp_path_factory.mktemp("secured-by-default")) as admin:
        yield admin


def delivery_record(alert_id: str, province: str, recipient: str) -> dict[str, object]:
    """The audit record a bridge of ``province`` writes when Xuzhou's alert reached
    ``recipient``'s local system."""
    envelope = Envelope("PersonAlert", XUZHOU, str(uuid.uuid4()))
    scope = AuditScope(province, "shandong", "1", "directory")
    return scope.record(
        envelope,
        value=b"alert bytes",
        outcome=AuditOutcome.DELIVERED,
        record={"alert_id": alert_id, "hit_id": None, "request_id": None},
        recipient=recipient,
    )


def forge(settings: Settings, record: dict[str, object], *, sign_as: str | None) -> None:
    """Write ``record`` with a plain kafka-python producer under ``settings``' login,
    signed (as the writing side signs) with ``sign_as``'s own key, or unsigned."""
    value = audit_codec().encode(AUDIT_RECORD_TYPE, dict(record))
    key = audit_key(record)
    headers = [("ce_id", str(record["audit_id"]).encode()), ("ce_type", b"AuditRecord")]
    if sign_as is not None:
        headers.append(("ce_source", sign_as.encode()))
        signer = load_signer(settings, sign_as)
        assert signer is not None
        headers += signer.sign(AUDIT_TOPIC, key, value, headers)
    else:
        headers.append(("ce_source", b"bridge-sd"))
    send_raw(settings, AUDIT_TOPIC, key=key, value=value, headers=headers)


def test_forged_audit_records_show_unverified_and_genuine_ones_verified(
    secured: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """bridge-js's login writes three records claiming Jining (Shandong) received the
    alert: in Shandong's name signed with JS's key, in its own name, and unsigned in
    Shandong's name; all three are UNVERIFIED. Shandong's bridge's own record of Zaozhuang's
    delivery, written by ``AuditWriter`` with its key, is verified."""
    agreement = load_agreement(secured.agreement)
    alert_id = str(uuid.uuid4())
    bridge_sd = login(secured, "bridge-sd")
    genuine = delivery_record(alert_id, "SD", ZAOZHUANG)
    with AuditWriter(
        bridge_sd, signer=bridge_signer(bridge_sd, agreement, "SD"), source="bridge-sd"
    ) as writer:
        writer.write(dict(genuine))

    bridge_js = login(secured, "bridge-js")
    in_sd_name = delivery_record(alert_id, "SD", JINING)
    forge(bridge_js, in_sd_name, sign_as="bridge-js")
    in_own_name = delivery_record(alert_id, "JS", JINING)
    forge(bridge_js, in_own_name, sign_as="bridge-js")
    unsigned = delivery_record(alert_id, "SD", JINING)
    forge(bridge_js, unsigned, sign_as=None)

    for name, value in login_env(login(secured, "auditor")).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("hxbus.cli.configure_logging", lambda *_args, **_kwargs: None)
    capsys.readouterr()
    assert 0 == main(["audit", "--alert", alert_id, "--json"])
    trail = json.loads(capsys.readouterr().out)
    verified = {
        d["message_id"]: d["verified"]
        for row in trail["agencies"]
        for d in (*row["alert"], *row["status_changes"])
    }
    expected = {
        str(genuine["message_id"]): True,
        str(in_sd_name["message_id"]): False,
        str(in_own_name["message_id"]): False,
        str(unsigned["message_id"]): False,
    }
    assert (expected, 3) == (verified, trail["unverified"])

    assert 0 == main(["audit", "--alert", alert_id])
    text = capsys.readouterr().out
    assert "3 record(s) UNVERIFIED" in text
    assert 0 == main(["audit", "--alert", alert_id, "--json", "--verified-only"])
    only = json.loads(capsys.readouterr().out)
    assert [ZAOZHUANG] == [row["agency"] for row in only["agencies"]]


def run_as(settings: Settings, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """``hxbus <argv>`` in this process with ``settings``' login, agreement and state."""
    for name in ("HX_SASL_USERNAME", "HX_SASL_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in login_env(settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("hxbus.cli.configure_logging", lambda *_args, **_kwargs: None)
    return main(argv)


def test_an_agency_login_publishes_simulates_and_reads_alerts_and_its_dlq(
    secured: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Xuzhou's own login: publish (with the register's duplicate check), simulate (its
    own events only), alerts, dlq list and dlq replay (back into its own inbox) all
    succeed; no operator group is needed."""
    xuzhou = login(secured, XUZHOU)
    events = FIXTURES / "person_alert_xuzhou.json"
    group = f"{XUZHOU}.desk"
    dead_letters = DeadLetterQueue(xuzhou, group, replication=1, min_insync_replicas=1)
    try:
        origin = Origin(inbox_topic(XUZHOU), 0, 0)
        dead_letters.send(
            origin, key=b"k", value=b"poison", headers=[], error=ValueError(), reason="x"
        )
        assert set() == dead_letters.flush()
    finally:
        dead_letters.close()
    statuses = [
        run_as(xuzhou, ["publish", "--as", XUZHOU, str(events)], monkeypatch),
        run_as(xuzhou, ["simulate", "--rate", "20", "--duration", "1", "--seed", "3"], monkeypatch),
        run_as(xuzhou, ["alerts"], monkeypatch),
        run_as(xuzhou, ["dlq", "list", "--group", group], monkeypatch),
        run_as(xuzhou, ["dlq", "replay", "--group", group], monkeypatch),
    ]
    captured = capsys.readouterr()
    assert [0, 0, 0, 0, 0] == statuses, captured.err
    assert "1 replayed, 0 skipped" in captured.out
    assert "logged in as agency 320300000000: simulating its own events only" in captured.err
