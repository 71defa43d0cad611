"""producers.MessageBuilder: validation first, then key, value, headers, signature per copy."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from producers import MessageBuilder, SyntheticTraffic
from schemas import KEY_FIELDS, Agreement, Codec, ExchangeEvent, inbox_topic, parse_headers
from schemas.errors import ValidationFailed

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


@pytest.fixture(scope="module")
def builder(agreement: Agreement, codec: Codec) -> MessageBuilder:
    return MessageBuilder(agreement, codec=codec)


@pytest.fixture(scope="module")
def sample(agreement: Agreement) -> dict[str, ExchangeEvent]:
    """The first synthetic event of each type (seeded)."""
    first: dict[str, ExchangeEvent] = {}
    for event in SyntheticTraffic(agreement, seed=5, start=START).take(300):
        first.setdefault(event.event_type, event)
    return first


@pytest.mark.parametrize("event_type", sorted(KEY_FIELDS))
def test_key_is_the_business_id_of_each_type(
    builder: MessageBuilder, sample: dict[str, ExchangeEvent], event_type: str
) -> None:
    """Alerts and status changes key on alert_id, hits on hit_id, requests on request_id."""
    event = sample[event_type]
    _, messages = builder.build(event)
    expected = event.record[KEY_FIELDS[event_type]].encode()
    assert {expected} == {m.key for m in messages}


@pytest.mark.parametrize("event_type", sorted(KEY_FIELDS))
def test_value_decodes_to_the_record(
    builder: MessageBuilder, codec: Codec, sample: dict[str, ExchangeEvent], event_type: str
) -> None:
    """Each value is C3 01 + fingerprint + body, and decodes to the event's record."""
    event = sample[event_type]
    checked, messages = builder.build(event)
    for message in messages:
        assert (b"\xc3\x01" + codec.fingerprint(event_type), (event_type, checked.record)) == (
            message.value[:10],
            codec.decode(message.value),
        )


def test_headers_carry_the_envelope_of_each_copy(
    builder: MessageBuilder, sample: dict[str, ExchangeEvent]
) -> None:
    """Parsing a copy's headers gives back its envelope: own id and target, shared rest."""
    request = sample["AssistanceRequest"]
    _, messages = builder.build(request)
    parsed = [parse_headers(m.headers)[0] for m in messages]
    assert [(m.message_id, m.topic) for m in messages] == [
        (p.message_id, inbox_topic(p.target or "")) for p in parsed
    ]
    assert {(request.envelope.source, request.envelope.message_id)} == {
        (p.source, p.correlation_id) for p in parsed
    }


def test_invalid_record_is_refused_naming_the_field(
    builder: MessageBuilder, sample: dict[str, ExchangeEvent]
) -> None:
    """A wrong check character is refused with its path, before anything is built."""
    alert = sample["PersonAlert"]
    record = copy.deepcopy(alert.record)
    number = record["subject"]["id_number"]
    record["subject"]["id_number"] = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(ValidationFailed) as failed:
        builder.build(ExchangeEvent(alert.envelope, record))
    assert ["data.subject.id_number"] == [i.path for i in failed.value.issues]


def test_source_must_be_the_author(
    builder: MessageBuilder, sample: dict[str, ExchangeEvent], agreement: Agreement
) -> None:
    """An agency cannot publish another agency's alert: the issue names source."""
    alert = sample["VehicleAlert"]
    other = next(a.id for a in agreement.agencies if a.id != alert.envelope.source)
    with pytest.raises(ValidationFailed) as failed:
        builder.build(ExchangeEvent(alert.envelope.evolve(source=other), alert.record))
    assert ["source"] == [i.path for i in failed.value.issues]


def test_untargeted_directed_event_names_target_beside_record_issues(
    builder: MessageBuilder, sample: dict[str, ExchangeEvent]
) -> None:
    """A hit without target and with a bad field gets both issues at once."""
    hit = sample["AlertHit"]
    record = {**hit.record, "priority": "SOON"}
    with pytest.raises(ValidationFailed) as failed:
        builder.build(ExchangeEvent(hit.envelope.evolve(target=None), record))
    assert ["data.priority", "hxtarget"] == [i.path for i in failed.value.issues]


class RecordingSigner:
    """A signer that records what it was asked to sign and signs with a counter."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = []

    def sign(
        self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
    ) -> list[tuple[str, bytes]]:
        self.calls.append((topic, key, value, list(headers)))
        return [("hx_signature", str(len(self.calls)).encode()), ("hx_key_id", b"k1")]


def test_signer_signs_exactly_what_is_sent(
    agreement: Agreement, codec: Codec, sample: dict[str, ExchangeEvent]
) -> None:
    """The signer sees each copy's topic, key, value and headers; its headers are appended."""
    signer = RecordingSigner()
    _, messages = MessageBuilder(agreement, codec=codec, signer=signer).build(
        sample["AssistanceRequest"]
    )
    assert [(m.topic, m.key, m.value, m.headers[:-2]) for m in messages] == signer.calls
    assert [
        [("hx_signature", str(i).encode()), ("hx_key_id", b"k1")]
        for i in range(1, len(messages) + 1)
    ] == [m.headers[-2:] for m in messages]
