"""MessageReader and the optional hx_fingerprint header: the value's fingerprint rules."""

from __future__ import annotations

import json
from pathlib import Path

from client_fakes import record

from consumers import Delivery, MessageReader
from consumers.reading import Poison
from runtime.kafka import Record
from schemas import (
    DEFAULT_AGREEMENT_PATH,
    Codec,
    envelope_headers,
    load_agreement,
    parse_event,
    record_key,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "events" / "person_alert_xuzhou.json"
CODEC = Codec()


def _record(extra: list[tuple[str, bytes]]) -> Record:
    event = parse_event(
        json.loads(FIXTURE.read_text(encoding="utf-8")), load_agreement(DEFAULT_AGREEMENT_PATH)
    )
    value = CODEC.encode(event.event_type, event.record)
    headers = [*envelope_headers(event.envelope), *extra]
    key = record_key(event.event_type, event.record)
    return record("hx.alerts.person", 0, 7, key, value, headers, 1_700_000_000_000)


def test_message_without_fingerprint_header_is_read() -> None:
    """The fingerprint is in the value: a message without hx_fingerprint is a Delivery."""
    read = MessageReader(CODEC).read(_record([]))
    assert (Delivery, "PersonAlert") == (type(read), getattr(read, "event_type", None))


def test_matching_fingerprint_header_is_accepted() -> None:
    """An hx_fingerprint equal to the value's fingerprint is accepted."""
    fingerprint = CODEC.fingerprint("PersonAlert").hex().encode()
    assert Delivery is type(MessageReader(CODEC).read(_record([("hx_fingerprint", fingerprint)])))


def test_fingerprint_header_that_contradicts_the_value_is_poison() -> None:
    """An hx_fingerprint other than the value's is bad_headers, naming the header."""
    read = MessageReader(CODEC).read(_record([("hx_fingerprint", b"0011223344556677")]))
    assert isinstance(read, Poison)
    assert ("bad_headers", True) == (read.reason, str(read.error).startswith("hx_fingerprint: "))
