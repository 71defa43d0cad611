"""The Shandong profile (XML, icd/shandong.md): golden files, round trips, what is dropped."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hx_bridge_support import (
    GOLDEN,
    carriable,
    emptied,
    golden_event,
    golden_local,
    non_empty,
)
from hx_event_strategies import AGREEMENT, events
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from bridge.profiles import codes
from bridge.profiles.shandong import SCHEMA_PATH, ShandongProfile
from schemas import EVENT_TYPES, ExchangeEvent
from schemas.errors import LocalFormatError, TranslationError

PROFILE = ShandongProfile(AGREEMENT)
#: What the ICD's element lists leave out (icd/shandong.md), by event type.
NOT_CARRIED = {
    "PersonAlert": ("share_with", "related_alerts"),
    "VehicleAlert": ("reason", "case_ref", "share_with", "related_alerts"),
}


def translated_back(content: bytes) -> ExchangeEvent:
    [parsed] = PROFILE.from_local(content, "in.xml")
    assert parsed.error is None
    assert parsed.event is not None
    return parsed.event


def with_record(event: ExchangeEvent, **changes: object) -> ExchangeEvent:
    return ExchangeEvent(event.envelope, {**event.record, **changes})


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_golden_exchange_to_local(event_type: str) -> None:
    """Each exchange golden becomes its local golden, byte for byte, nothing dropped."""
    message = PROFILE.to_local(golden_event("shandong", event_type))
    expected = (golden_local("shandong", event_type, ".xml"), (), ())
    assert expected == (message.content, message.truncated, message.dropped)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_golden_local_to_exchange(event_type: str) -> None:
    """Each local golden becomes its exchange golden: envelope and record."""
    expected = golden_event("shandong", event_type)
    assert expected == translated_back(golden_local("shandong", event_type, ".xml"))


def test_icd_sample_as_printed_is_accepted() -> None:
    """The ICD's own VehicleAlert sample, in its compact layout, reads as the golden event."""
    sample = (GOLDEN / "shandong" / "VehicleAlert.icd-sample.xml").read_bytes()
    assert golden_event("shandong", "VehicleAlert") == translated_back(sample)


def test_file_name_and_media_type() -> None:
    """A document is delivered as <MessageId>.xml, application/xml."""
    message = PROFILE.to_local(golden_event("shandong", "VehicleAlert"))
    expected = ("2f4d0a63-6a0b-4f7e-8a53-5d1c9e0b7a44.xml", "application/xml")
    assert expected == (message.file_name, message.media_type)


def test_person_alert_drops_share_with_and_related_alerts() -> None:
    """PersonAlert has no element for share_with or related_alerts: both listed as dropped."""
    event = with_record(
        golden_event("shandong", "PersonAlert"),
        handling="NEED_TO_KNOW",
        share_with=["320300000000"],
        related_alerts=["0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31"],
    )
    message = PROFILE.to_local(event)
    expected = (("share_with", "related_alerts"), b"<Handling>NEED_TO_KNOW</Handling>")
    assert expected[0] == message.dropped
    assert expected[1] in message.content


def test_vehicle_alert_drops_reason_and_case_ref() -> None:
    """VehicleAlert's ICD list has no Reason or CaseRef: present values are dropped."""
    event = with_record(golden_event("shandong", "VehicleAlert"), reason="被盗", case_ref="A1")
    message = PROFILE.to_local(event)
    expected = (("reason", "case_ref"), golden_local("shandong", "VehicleAlert", ".xml"))
    assert expected == (message.dropped, message.content)


def test_default_symbols_are_carried_by_name() -> None:
    """Category OTHER is an exchange name, so Shandong carries it like any other."""
    event = with_record(golden_event("shandong", "VehicleAlert"), category="OTHER")
    assert "OTHER" == translated_back(PROFILE.to_local(event).content).record["category"]


def test_line_breaks_and_markup_in_text_survive() -> None:
    """CR, LF, tab, & and < in text travel escaped and come back unchanged."""
    reason = "第一行\r\n第二行\t<b>&amp;</b>  "
    event = with_record(golden_event("shandong", "PersonAlert"), reason=reason)
    assert reason == translated_back(PROFILE.to_local(event).content).record["reason"]


def test_control_character_is_a_translation_error_naming_the_field() -> None:
    """XML 1.0 cannot carry U+0001: the event is refused, naming the field."""
    event = golden_event("shandong", "PersonAlert")
    subject = {**event.record["subject"], "aliases": ["ok", "bad\x01"]}
    with pytest.raises(TranslationError) as raised:
        PROFILE.to_local(with_record(event, subject=subject))
    assert "subject.aliases[1]: holds a control character that XML 1.0 cannot carry" == str(
        raised.value
    )


def test_value_the_xsd_refuses_is_a_translation_error_naming_the_element() -> None:
    """An admin code of four digits breaks the XSD: refused, naming the element."""
    event = golden_event("shandong", "VehicleAlert")
    last_seen = {**event.record["last_seen"], "admin_code": "3708"}
    with pytest.raises(TranslationError) as raised:
        PROFILE.to_local(with_record(event, last_seen=last_seen))
    assert "Message/Body/VehicleAlert/LastSeen/AdminCode: [facet 'pattern']" in str(raised.value)


def test_times_are_written_at_plus_eight_to_the_second() -> None:
    """Milliseconds are below the ICD's resolution: the time is written to the second."""
    event = with_record(
        golden_event("shandong", "AlertStatusChange"),
        changed_at=datetime(2026, 11, 22, 16, 0, 0, 999000, tzinfo=UTC),
    )
    assert b"<ChangedAt>2026-11-23T00:00:00+08:00</ChangedAt>" in PROFILE.to_local(event).content


def test_fractional_seconds_are_read_to_the_millisecond() -> None:
    """A local time with a fraction is valid xs:dateTime; it is kept to the millisecond."""
    content = golden_local("shandong", "AlertStatusChange", ".xml").replace(
        b"10:00:00+08:00</ChangedAt>", b"10:00:00.1239+08:00</ChangedAt>"
    )
    changed_at = translated_back(content).record["changed_at"]
    assert datetime(2026, 11, 22, 2, 0, 0, 123000, tzinfo=UTC) == changed_at


def test_uppercase_uuids_are_normalised() -> None:
    """Ids sent in upper case are read as the exchange's lowercase uuids."""
    content = golden_local("shandong", "AlertStatusChange", ".xml").replace(
        b"3e8f1a2b-4c5d-4e6f-9a0b-1c2d3e4f5a6b", b"3E8F1A2B-4C5D-4E6F-9A0B-1C2D3E4F5A6B"
    )
    assert "3e8f1a2b-4c5d-4e6f-9a0b-1c2d3e4f5a6b" == translated_back(content).record["alert_id"]


def test_message_type_must_match_the_body() -> None:
    """A header saying one type over a body of another is refused, naming both."""
    content = golden_local("shandong", "AlertStatusChange", ".xml").replace(
        b"<MessageType>AlertStatusChange<", b"<MessageType>AlertHit<"
    )
    [parsed] = PROFILE.from_local(content, "x.xml")
    expected = (
        "x.xml: line 10: Header/MessageType says AlertHit but the Body holds AlertStatusChange"
    )
    assert expected == str(parsed.error)


def test_invalid_document_yields_an_error_naming_file_and_element() -> None:
    """A document breaking the XSD yields one ParsedLocal with the error, no event."""
    content = golden_local("shandong", "HitConfirmation", ".xml").replace(
        b"<Result>CONFIRMED</Result>", b""
    )
    [parsed] = PROFILE.from_local(content, "x.xml")
    assert (1, None, LocalFormatError) == (parsed.line, parsed.event, type(parsed.error))
    assert str(parsed.error).startswith(
        "x.xml: document breaks shandong.xsd: line 15: Message/Body/HitConfirmation/Note: "
        "This element is not expected. Expected is ( Result )."
    )


def _enumerations() -> dict[str, list[str]]:
    xsd = etree.parse(str(SCHEMA_PATH))
    ns = {"xs": "http://www.w3.org/2001/XMLSchema"}
    return {
        simple.get("name"): [e.get("value") for e in simple.iterfind(".//xs:enumeration", ns)]
        for simple in xsd.iterfind("xs:simpleType", ns)
    }


@pytest.mark.parametrize(
    "enum",
    [
        "PersonAlertCategory",
        "VehicleAlertCategory",
        "CautionFlag",
        "RequestedAction",
        "Handling",
        "AlertKind",
        "AlertStatus",
        "HitSource",
        "Priority",
        "HitResult",
        "AssistanceType",
        "AssistanceStatus",
    ],
)
def test_xsd_enumerations_are_the_contract_symbols(enum: str) -> None:
    """Each enum in the XSD lists exactly the Avro enum's symbols, default included."""
    avsc = json.loads(
        (SCHEMA_PATH.parents[2] / "schemas" / "avro" / f"hx.exchange.{enum}.avsc").read_text(
            encoding="utf-8"
        )
    )
    assert avsc["symbols"] == _enumerations()[enum]


@pytest.mark.parametrize(
    ("simple_type", "table"),
    [
        ("SexCode", codes.SEX),
        ("PlateTypeCode", codes.PLATE_TYPE),
        ("BodyColourCode", codes.BODY_COLOUR),
    ],
)
def test_xsd_codes_are_the_shared_code_tables(simple_type: str, table: dict[str, str]) -> None:
    """Sex, plate type and body colour codes in the XSD are those of the shared tables."""
    assert sorted(table.values()) == sorted(_enumerations()[simple_type])


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_round_trip_keeps_every_carried_field(event_type: str, data: st.DataObject) -> None:
    """exchange → XML → exchange keeps every carried field; dropped is exactly the rest.

    Times in whole seconds and six-decimal coordinates (what the ICD carries).
    """
    event = carriable(data.draw(events(event_type)))
    message = PROFILE.to_local(event)
    back = translated_back(message.content)
    not_carried = NOT_CARRIED.get(event_type, ())
    envelope = event.envelope.evolve(causation_id=None, traceparent=None, target=None)
    expected = (envelope, emptied(event.record, not_carried), non_empty(event.record, not_carried))
    assert expected == (back.envelope, back.record, sorted(message.dropped))


@settings(deadline=None)
@given(
    content=st.binary(max_size=200)
    | st.sampled_from(EVENT_TYPES).flatmap(
        lambda t: st.integers(0, 2000).map(lambda cut: golden_local("shandong", t, ".xml")[:cut])
    )
)
def test_any_bytes_yield_an_event_or_a_local_format_error(content: bytes) -> None:
    """Outside input never raises: it yields one ParsedLocal holding a LocalFormatError."""
    [parsed] = PROFILE.from_local(content, "fuzz.xml")
    assert (parsed.event is None) == isinstance(parsed.error, LocalFormatError)


def _outcome(write: Callable[[], bytes]) -> bytes | tuple[str, str]:
    """The bytes written, or the kind and words of the error raised instead."""
    try:
        return write()
    except Exception as exc:  # compared, whatever it is
        return (type(exc).__name__, str(exc))


def _outcomes(event: ExchangeEvent) -> tuple[object, object]:
    """(to_local's content or error, the element tree's validated bytes or error)."""
    return (
        _outcome(lambda: PROFILE.to_local(event).content),
        _outcome(lambda: PROFILE._xml.encode(PROFILE.tree(event))),
    )


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_text_written_document_is_the_element_trees(event_type: str, data: st.DataObject) -> None:
    """The document written as text has the bytes lxml writes for the element tree."""
    actual, expected = _outcomes(data.draw(events(event_type)))
    assert expected == actual


@pytest.mark.parametrize(
    "reason",
    [
        "a & b < c > d \r\n e \t \"f\" 'g' ]]> &amp; &#13;",
        "𠮷䶮 \u2028 \u0085 \ufffd",
        "bad\x01",
        "bad\x0b\x0c",
        "lone \ud800 surrogate",
        "not a character \ufffe",
        "",
    ],
    ids=["markup", "unicode", "control", "vt-ff", "surrogate", "fffe", "empty"],
)
def test_text_written_document_gives_the_element_trees_bytes_or_error(reason: str) -> None:
    """Escaped markup, odd characters and values XML cannot hold: to_local gives exactly
    what the element tree gives, bytes or the error naming the field."""
    actual, expected = _outcomes(
        with_record(golden_event("shandong", "PersonAlert"), reason=reason)
    )
    assert expected == actual


def test_a_document_the_xsd_refuses_is_refused_as_the_element_tree_is() -> None:
    """An invalid document written as text is refused with the element tree's error."""
    event = golden_event("shandong", "VehicleAlert")
    event = with_record(event, last_seen={**event.record["last_seen"], "admin_code": "3708"})
    actual, expected = _outcomes(event)
    assert (expected, "TranslationError") == (
        actual,
        expected[0] if isinstance(expected, tuple) else None,
    )
