"""The outbox on the real broker: a Henan file becomes an event whose ce_id is the local id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from topic_reading import end_offsets, read_records

from bridge.outbox import FileOutcome, OutboxPublisher
from bridge.profiles.henan import HenanProfile
from producers import Publisher
from runtime import Settings
from runtime.kafka import Admin, NewTopic, TopicPartition
from schemas import BROADCAST_TOPICS, Agreement, Codec, Envelope, ExchangeEvent
from schemas.audiences import AudienceBook, broadcast_audience

pytestmark = pytest.mark.broker

SHANGQIU = "411400000000"
TOPIC = BROADCAST_TOPICS["PERSON"]


def ensure_topic(admin: Admin) -> list[TopicPartition]:
    """The person-alert topic (shared by every test that publishes alerts), created if absent."""
    admin.create_topics([NewTopic(TOPIC, 6, 1)])  # one that exists is fine
    partitions = admin.describe_topics([TOPIC])[TOPIC].partitions
    return [TopicPartition(TOPIC, p.partition) for p in partitions]


def withdrawal_line(message_id: str, alert_id: str) -> bytes:
    """A Henan BKZT line: Shangqiu withdraws ``alert_id``."""
    moment = datetime.now(UTC).replace(microsecond=0)
    record = {
        "alert_id": alert_id,
        "alert_kind": "PERSON",
        "status": "WITHDRAWN",
        "reason": "嫌疑人已到案",
        "changed_at": moment,
        "agency": SHANGQIU,
    }
    envelope = Envelope("AlertStatusChange", SHANGQIU, message_id, created_at=moment)
    return HenanProfile().to_local(ExchangeEvent(envelope, record)).content


def test_an_outbox_file_is_on_the_topic_with_the_local_message_id_as_ce_id(
    settings: Settings, admin: Admin, agreement: Agreement, tmp_path: Path
) -> None:
    """The event of a Henan outbox file is on hx.alerts.person with ce_id = the local id."""
    partitions = ensure_topic(admin)
    start = end_offsets(settings, partitions)
    local_id, alert_id = str(uuid.uuid4()), str(uuid.uuid4())

    # A broadcast alert of Shangqiu's, as the outbound side learns it at start (register).
    known = AudienceBook([broadcast_audience(alert_id, "PERSON", SHANGQIU, 1)])
    with Publisher(settings, agreement, audiences=known) as publisher:
        outbox = OutboxPublisher(
            tmp_path, HenanProfile(agreement), publisher, agreement, province="HA"
        )
        (outbox.outbox / "withdrawal.dat").write_bytes(withdrawal_line(local_id, alert_id))
        outbox.scan()
        reports = outbox.scan()

    ours = [
        r for r in read_records(settings, start) if dict(r.headers)["ce_id"] == local_id.encode()
    ]
    assert [FileOutcome.SENT] == [r.outcome for r in reports]
    assert [alert_id.encode()] == [r.key for r in ours]
    event_type, record = Codec().decode(ours[0].value)
    assert ("AlertStatusChange", alert_id, "WITHDRAWN") == (
        event_type,
        record["alert_id"],
        record["status"],
    )
