"""Audit records signed by their bridge, and what ``audit_problem`` refuses to trust."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bridge.audit_reader import AuditMessage, audit_problem
from bridge.audit_writer import (
    AUDIT_RECORD_TYPE,
    AuditOutcome,
    AuditScope,
    AuditWriter,
    audit_codec,
    audit_headers,
    audit_key,
)
from runtime import Settings, bridge_signer, bridge_verifier
from runtime.signing_keys import generate_key, public_key_text
from schemas import AUDIT_TOPIC, Agreement, Envelope

XUZHOU, ZAOZHUANG, JINING = "320300000000", "370400000000", "370800000000"


class Sent:
    """A producer that keeps what it was asked to send (the ``AuditProducer`` shape)."""

    def __init__(self) -> None:
        self.messages: list[AuditMessage] = []

    def send(
        self,
        topic: str,
        *,
        value: bytes,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any:
        self.messages.append(AuditMessage(topic, key, value, list(headers or [])))
        return None


@pytest.fixture
def keyed(agreement: Agreement, tmp_path: Path) -> Agreement:
    raw = agreement.model_dump()
    for province in ("SD", "JS"):
        key = generate_key(tmp_path, f"bridge-{province.lower()}")
        raw["provinces"][province]["public_keys"] = [public_key_text(key.public_key())]
    return Agreement.model_validate(raw)


def delivery(province: str, recipient: str) -> dict[str, Any]:
    scope = AuditScope(province, "shandong", "1", "directory")
    return scope.record(
        Envelope("PersonAlert", XUZHOU, str(uuid.uuid4())),
        value=b"alert",
        outcome=AuditOutcome.DELIVERED,
        record={"alert_id": str(uuid.uuid4()), "hit_id": None, "request_id": None},
        recipient=recipient,
    )


def written(keyed: Agreement, tmp_path: Path, bridge: str, record: dict[str, Any]) -> Any:
    """``record`` as ``bridge``'s AuditWriter sends it."""
    sent = Sent()
    province = bridge.removeprefix("bridge-").upper()
    signer = bridge_signer(Settings(state_dir=tmp_path), keyed, province)
    AuditWriter(Settings(), producer=sent, signer=signer, source=bridge).write(dict(record))
    (message,) = sent.messages
    return message


def test_a_record_signed_by_the_bridge_of_its_province_verifies(
    keyed: Agreement, tmp_path: Path
) -> None:
    """Shandong's bridge, Zaozhuang's delivery: signed, ce_source bridge-sd, trusted."""
    record = delivery("SD", ZAOZHUANG)
    message = written(keyed, tmp_path, "bridge-sd", record)
    assert (AUDIT_TOPIC, "bridge-sd", None) == (
        message.topic,
        message.source,
        audit_problem(bridge_verifier(keyed), keyed, message, record),
    )


@pytest.mark.parametrize(
    ("writer", "province", "recipient", "problem"),
    [
        ("bridge-js", "SD", JINING, "ce_source: signed by bridge-js, but the record names"),
        ("bridge-js", "JS", JINING, "recipient_agency: 370800000000 is not an agency of"),
    ],
)
def test_a_bridge_cannot_vouch_for_another_province(
    keyed: Agreement, tmp_path: Path, writer: str, province: str, recipient: str, problem: str
) -> None:
    """Jiangsu's key signs a Shandong record, or a Jiangsu record of a Shandong delivery."""
    record = delivery(province, recipient)
    message = written(keyed, tmp_path, writer, record)
    found = audit_problem(bridge_verifier(keyed), keyed, message, record)
    assert (True, found) == (found is not None and found.startswith(problem), found)


def test_an_unsigned_record_and_an_agreement_without_bridge_keys_are_not_trusted(
    keyed: Agreement, agreement: Agreement
) -> None:
    """No signature: refused; no bridge key in the agreement: nothing verifies."""
    record = delivery("SD", ZAOZHUANG)
    sent = Sent()
    AuditWriter(Settings(), producer=sent, source="bridge-sd").write(dict(record))
    (message,) = sent.messages
    unsigned = audit_problem(bridge_verifier(keyed), keyed, message, record)
    keyless = audit_problem(bridge_verifier(agreement), agreement, message, record)
    assert (True, "the agreement lists no bridge key: nothing can be verified") == (
        unsigned is not None and "hx_signature: absent" in unsigned,
        keyless,
    )


def test_a_batch_written_at_once_carries_each_records_own_cloudevent_and_signature(
    keyed: Agreement, tmp_path: Path
) -> None:
    """AuditWriter.write_many sends, per record, its key, its encoding and the headers of
    ``audit_headers`` signed over them (the shared parts built once change nothing)."""
    signer = bridge_signer(Settings(state_dir=tmp_path), keyed, "SD")
    assert signer is not None
    records = [delivery("SD", ZAOZHUANG), delivery("SD", JINING)]
    records[1]["recorded_at"] = records[0]["recorded_at"] + timedelta(milliseconds=5)
    sent = Sent()
    AuditWriter(Settings(), producer=sent, signer=signer, source="bridge-sd").write_many(
        [dict(r) for r in records]
    )
    expected = []
    for record in records:
        value = audit_codec().encode(AUDIT_RECORD_TYPE, record)
        headers = audit_headers(record, "bridge-sd")
        headers += signer.sign(AUDIT_TOPIC, audit_key(record), value, headers)
        expected.append(AuditMessage(AUDIT_TOPIC, audit_key(record), value, headers))
    assert expected == sent.messages
