"""The Henan profile (GB18030 fixed width, icd/henan.md): goldens, cuts, flags, batches."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hx_bridge_support import (
    carriable,
    emptied,
    get_path,
    golden_event,
    golden_local,
    non_empty,
)
from hx_event_strategies import AGREEMENT, events, uuids
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.profiles.henan import HenanProfile
from bridge.profiles.henan_layouts import BY_RECORD_TYPE, HEADER
from schemas import EVENT_TYPES, ExchangeEvent
from schemas.errors import LocalFormatError, TranslationError

PROFILE = HenanProfile(AGREEMENT)
SHANGQIU = "411400000000"
#: Record lengths in bytes, header included, as the ICD's table titles state them.
ICD_LENGTHS = {
    "RYBK": 551,
    "CLBK": 518,
    "BKZT": 233,
    "BZFK": 458,
    "BZQR": 266,
    "XCQQ": 899,
    "XCHF": 667,
}
#: Fields the ICD does not carry, by event type ("aliases, photos, description, address,
#: linked alerts" and the fields its tables have no column for).
NOT_CARRIED = {
    "PersonAlert": (
        "subject.aliases",
        "subject.description",
        "subject.photos",
        "last_known.address",
        "share_with",
        "related_alerts",
    ),
    "VehicleAlert": ("linked_person_alerts", "last_seen.address", "share_with", "related_alerts"),
    "AlertHit": ("location.address", "location.observed_at"),
    "AssistanceRequest": ("legal_documents",),
    "AssistanceResponse": ("results",),
}
_CONTACT = {"contact.unit": 30, "contact.officer": 10, "contact.phone": 15}
#: Text fields and their widths in bytes, from the ICD's tables.
TEXT_WIDTHS: dict[str, dict[str, int]] = {
    "PersonAlert": {
        "subject.name": 30,
        "subject.name_pinyin": 40,
        "case_ref": 30,
        "reason": 100,
        "legal_basis": 60,
        **_CONTACT,
    },
    "VehicleAlert": {
        "make": 20,
        "model": 20,
        "case_ref": 30,
        "reason": 100,
        "legal_basis": 60,
        **_CONTACT,
    },
    "AlertStatusChange": {"reason": 100},
    "AlertHit": {"action_taken": 60, "details": 200},
    "HitConfirmation": {"note": 100},
    "AssistanceRequest": {"case_ref": 30, "description": 500, **_CONTACT},
    "AssistanceResponse": {"message": 500},
}


def gb(text: str) -> bytes:
    return text.encode("gb18030")


def cut(text: str, width: int) -> str:
    """The longest character prefix of ``text`` that fits ``width`` GB18030 bytes."""
    kept = ""
    for char in text:
        if len(gb(kept + char)) > width:
            break
        kept += char
    return kept


def translated_back(content: bytes) -> list[ExchangeEvent]:
    parsed = list(PROFILE.from_local(content, "in.dat"))
    assert [None] * len(parsed) == [p.error for p in parsed]
    return [p.event for p in parsed if p.event is not None]


def with_record(event: ExchangeEvent, **changes: Any) -> ExchangeEvent:
    return ExchangeEvent(event.envelope, {**event.record, **changes})


def errors_of(content: bytes) -> list[tuple[int, str]]:
    return [(p.line, str(p.error)) for p in PROFILE.from_local(content, "b.dat") if p.error]


@pytest.mark.parametrize(("record_type", "length"), ICD_LENGTHS.items())
def test_record_lengths_are_the_icd_totals(record_type: str, length: int) -> None:
    """Header (67 bytes) plus each layout gives the ICD's record length."""
    assert (67, length) == (HEADER.width, HEADER.width + BY_RECORD_TYPE[record_type].layout.width)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_golden_exchange_to_local(event_type: str) -> None:
    """Each exchange golden becomes its local golden, byte for byte, nothing lost."""
    message = PROFILE.to_local(golden_event("henan", event_type))
    expected = (golden_local("henan", event_type, ".dat"), (), ())
    assert expected == (message.content, message.truncated, message.dropped)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_golden_local_to_exchange(event_type: str) -> None:
    """Each local golden becomes its exchange golden: envelope and record."""
    expected = [golden_event("henan", event_type)]
    assert expected == translated_back(golden_local("henan", event_type, ".dat"))


def test_file_name_and_media_type() -> None:
    """One record per file, <message id>.dat, GB18030 text."""
    message = PROFILE.to_local(golden_event("henan", "HitConfirmation"))
    expected = ("1f2a3b4c-5d6e-4f7a-8b8c-9d0e1f2a3b4c.dat", "text/plain; charset=gb18030")
    assert expected == (message.file_name, message.media_type)


def test_four_byte_name_survives() -> None:
    """张𠮷 (𠮷 is four bytes in GB18030, absent from GBK) is written and read back whole."""
    content = golden_local("henan", "PersonAlert", ".dat")
    assert (gb("张𠮷") + b" " * 24, "张𠮷") == (
        content[109:139],
        translated_back(content)[0].record["subject"]["name"],
    )


def test_long_text_is_cut_at_a_character_and_flagged() -> None:
    """A reason over 100 bytes is cut between characters, flag byte T, listed as truncated."""
    reason = "𠮷" * 20 + "王" * 20 + "abc"  # 80 + 40 + 3 bytes
    message = PROFILE.to_local(with_record(golden_event("henan", "PersonAlert"), reason=reason))
    back = translated_back(message.content)[0]
    expected = (b"T", ("reason",), "𠮷" * 20 + "王" * 10, gb("𠮷" * 20 + "王" * 10))
    actual = (
        message.content[66:67],
        message.truncated,
        back.record["reason"],
        message.content[336:436],
    )
    assert expected == actual


def test_every_cut_field_is_listed_in_layout_order() -> None:
    """Two fields cut: both listed, the flag is set once."""
    event = golden_event("henan", "PersonAlert")
    contact = {**event.record["contact"], "officer": "欧阳诸葛孔明"}
    message = PROFILE.to_local(with_record(event, reason="长" * 51, contact=contact))
    assert (b"T", ("reason", "contact.officer")) == (message.content[66:67], message.truncated)


def test_more_than_five_targets_keeps_henan_first_and_flags() -> None:
    """Seven targets: Shangqiu first, then the first four others; flag T."""
    targets = [
        "320300000000",
        "320700000000",
        "321300000000",
        "340600000000",
        "341300000000",
        "370400000000",
        SHANGQIU,
    ]
    event = golden_event("shandong", "AssistanceRequest")
    message = PROFILE.to_local(with_record(event, target_agencies=targets))
    back = translated_back(message.content)[0]
    expected_targets = [SHANGQIU, *targets[:4]]
    expected = (b"T", ("target_agencies",), expected_targets, "".join(expected_targets).encode())
    actual = (
        message.content[66:67],
        message.truncated,
        back.record["target_agencies"],
        message.content[145:205],
    )
    assert expected == actual


def test_without_henan_in_the_agreement_targets_keep_their_order() -> None:
    """An agreement without Henan has no agency to put first: the first five are kept."""
    without_henan = AGREEMENT.model_copy(
        update={
            "provinces": {k: v for k, v in AGREEMENT.provinces.items() if k != "HA"},
            "agencies": tuple(a for a in AGREEMENT.agencies if a.province != "HA"),
        }
    )
    targets = [a.id for a in AGREEMENT.agencies if a.id != "370800000000"]  # Shangqiu 7th
    event = with_record(golden_event("shandong", "AssistanceRequest"), target_agencies=targets)
    message = HenanProfile(without_henan).to_local(event)
    assert "".join(targets[:5]).encode() == message.content[145:205]


def test_more_than_three_linked_alerts_keeps_the_first_three_and_flags() -> None:
    """Four linked alerts: the first three are written, flag T."""
    linked = [f"{i}b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31" for i in range(4)]
    event = with_record(golden_event("henan", "AssistanceRequest"), linked_alerts=linked)
    message = PROFILE.to_local(event)
    back = translated_back(message.content)[0]
    assert (b"T", ("linked_alerts",), linked[:3]) == (
        message.content[66:67],
        message.truncated,
        back.record["linked_alerts"],
    )


def test_fields_the_format_does_not_carry_are_dropped() -> None:
    """Aliases, description, photos, address, share_with, related alerts: listed as dropped."""
    event = golden_event("shandong", "PersonAlert")  # aliases, photos, description, address
    event = with_record(
        event,
        handling="NEED_TO_KNOW",
        share_with=[SHANGQIU],
        related_alerts=["0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31"],
    )
    expected = (
        "subject.aliases",
        "subject.description",
        "subject.photos",
        "last_known.address",
        "share_with",
        "related_alerts",
    )
    assert (expected, b" ") == (
        PROFILE.to_local(event).dropped,
        PROFILE.to_local(event).content[66:67],
    )


@pytest.mark.parametrize(
    ("event_type", "changes", "rule"),
    [
        ("PersonAlert", {"category": "OTHER"}, "category: OTHER has no code in this local format"),
        (
            "PersonAlert",
            {"caution_flags": ["ARMED", "OTHER"]},
            "caution_flags[1]: OTHER has no code in this local format",
        ),
        ("PersonAlert", {"revision": 10000}, "revision: is 5 bytes, the field holds 4"),
        ("AlertStatusChange", {"alert_kind": "UNKNOWN"}, "alert_kind: UNKNOWN has no code"),
        ("HitConfirmation", {"result": "OTHER"}, "result: OTHER has no code"),
    ],
)
def test_values_without_a_henan_form_are_translation_errors(
    event_type: str, changes: dict[str, Any], rule: str
) -> None:
    """A value the ICD cannot express is an error naming the field (it goes to the DLQ)."""
    with pytest.raises(TranslationError) as raised:
        PROFILE.to_local(with_record(golden_event("henan", event_type), **changes))
    assert str(raised.value).startswith(rule)


def test_pinyin_must_be_ascii() -> None:
    """The name pinyin field is ASCII: a non-ASCII pinyin is refused, naming the field."""
    event = golden_event("henan", "PersonAlert")
    subject = {**event.record["subject"], "name_pinyin": "LÜ JI"}
    with pytest.raises(TranslationError, match=r"^subject\.name_pinyin: is not ASCII"):
        PROFILE.to_local(with_record(event, subject=subject))


@pytest.mark.parametrize(
    ("event_type", "field", "symbol", "offset"),
    [("AlertHit", "priority", "UNKNOWN", 197), ("PersonAlert", "handling", "OTHER", 305)],
)
def test_contract_reader_rules_apply(event_type: str, field: str, symbol: str, offset: int) -> None:
    """Priority UNKNOWN is written as ROUTINE (3), handling OTHER as ORIGINATOR_CONTROL (3)."""
    event = with_record(golden_event("henan", event_type), **{field: symbol})
    assert b"3" == PROFILE.to_local(event).content[offset : offset + 1]


def test_batch_yields_one_result_per_line() -> None:
    """A batch of three lines, the middle one a byte short: events 1 and 3, error on line 2."""
    hit = golden_local("henan", "AlertHit", ".dat")
    content = (
        golden_local("henan", "PersonAlert", ".dat")
        + hit[:100]
        + hit[101:]
        + golden_local("henan", "AssistanceResponse", ".dat")
    )
    parsed = list(PROFILE.from_local(content, "batch.dat"))
    expected = [
        (1, "PersonAlert", None),
        (2, None, "batch.dat: line 2: BZFK record is 457 bytes, expected 458"),
        (3, "AssistanceResponse", None),
    ]
    actual = [
        (p.line, p.event.event_type if p.event else None, str(p.error) if p.error else None)
        for p in parsed
    ]
    assert expected == actual


@pytest.mark.parametrize(
    "ending", [b"", b"\x1a", b"\r\n\x1a"], ids=["no-final-crlf", "eof-byte", "crlf-eof-byte"]
)
def test_legacy_endings_are_accepted(ending: bytes) -> None:
    """A last line without CRLF, or followed by 0x1A, is read like any other."""
    content = golden_local("henan", "HitConfirmation", ".dat")[:-2] + ending
    assert [golden_event("henan", "HitConfirmation")] == translated_back(content)


@pytest.mark.parametrize(
    ("offset", "replacement", "error"),
    [
        (0, b"ABCD", "line 1: record_type: must be one of RYBK, CLBK, BKZT"),
        (139, b"9", "line 1: result: not a code of this local format"),
        (140, b"20261131", "line 1: confirmed_at: is not a time yyyyMMddHHmmss"),
        (66, b"X", "line 1: truncation_flag: is neither T nor blank"),
        (154, b" " * 12, "line 1: agency: required, but blank"),
        (4, b" " * 36, "line 1: message_id: required, but blank"),
    ],
)
def test_bad_fields_are_errors_naming_line_and_field(
    offset: int, replacement: bytes, error: str
) -> None:
    """A field that breaks its rule yields an error with file, line, field and rule."""
    content = bytearray(golden_local("henan", "HitConfirmation", ".dat"))
    content[offset : offset + len(replacement)] = replacement
    [(line, message)] = errors_of(bytes(content))
    assert (1, f"b.dat: {error}") == (line, message[: len(error) + 7])


def test_bare_lf_is_an_error_naming_the_line() -> None:
    """A batch converted to LF line ends is refused with a clear rule, not a length error."""
    content = golden_local("henan", "HitConfirmation", ".dat") * 2
    expected = [(n, f"b.dat: line {n}: ends in LF without CR; lines end in CRLF") for n in (1, 2)]
    assert expected == errors_of(content.replace(b"\r\n", b"\n"))


def test_empty_line_is_an_error_naming_it() -> None:
    """An empty line between records is reported by number; the records around it are read."""
    record = golden_local("henan", "HitConfirmation", ".dat")
    assert [(2, "b.dat: line 2: is empty")] == errors_of(record + b"\r\n" + record)


def test_empty_file_is_an_error() -> None:
    """A file with no record at all is reported, so it is not silently moved to sent/."""
    assert [(1, "b.dat: line 1: the file has no records")] == errors_of(b"\x1a")


def test_partial_location_is_an_error() -> None:
    """A longitude without its latitude is refused: a location needs both and an admin code."""
    content = bytearray(golden_local("henan", "PersonAlert", ".dat"))
    content[235:245] = b" " * 10
    [(line, message)] = errors_of(bytes(content))
    assert (1, "b.dat: line 1: last_known.lat: required, but blank") == (line, message)


def test_blank_optional_groups_are_absent() -> None:
    """All-blank last-known and contact fields read as absent groups."""
    content = bytearray(golden_local("henan", "PersonAlert", ".dat"))
    content[224:265] = b" " * 41  # last known: lon, lat, admin code, observed at
    content[496:551] = b" " * 55  # contact: unit, officer, phone
    record = translated_back(bytes(content))[0].record
    assert (None, None) == (record["last_known"], record["contact"])


def _henan_ready(data: st.DataObject, event: ExchangeEvent) -> ExchangeEvent:
    """Narrow a drawn event to what Henan's fixed fields can hold without an error."""
    record = event.record
    if "revision" in record:
        record = {**record, "revision": data.draw(st.integers(1, 9999))}
    if event.event_type == "PersonAlert":
        pinyin = st.text(string.ascii_uppercase + " ", min_size=1, max_size=50).map(str.strip)
        subject = {**record["subject"], "name_pinyin": data.draw(st.none() | pinyin) or None}
        record = {**record, "subject": subject}
    if event.event_type == "AssistanceRequest":
        linked = data.draw(st.lists(uuids(), max_size=5, unique=True))
        record = {**record, "linked_alerts": linked}
    return ExchangeEvent(event.envelope, record)


def _expected(event: ExchangeEvent) -> tuple[dict[str, Any], list[str]]:
    """The record Henan gives back, and the fields it cut, from the ICD's rules alone."""
    event_type = event.event_type
    record = emptied(event.record, NOT_CARRIED.get(event_type, ()))
    cuts = []
    for path, width in TEXT_WIDTHS[event_type].items():
        value = get_path(record, path)
        if value is None:
            continue
        kept = cut(value, width)
        if kept != value:
            cuts.append(path)
        *parents, last = path.split(".")
        target = get_path(record, ".".join(parents)) if parents else record
        target[last] = kept.rstrip(" ")
    if event_type == "AssistanceRequest":
        targets = record["target_agencies"]
        if len(targets) > 5:
            ordered = [t for t in targets if t == SHANGQIU] + [t for t in targets if t != SHANGQIU]
            record["target_agencies"] = ordered[:5]
            cuts.append("target_agencies")
        if len(record["linked_alerts"]) > 3:
            record["linked_alerts"] = record["linked_alerts"][:3]
            cuts.append("linked_alerts")
    return record, sorted(cuts)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_round_trip_keeps_carried_fields_and_cuts_as_reported(
    event_type: str, data: st.DataObject
) -> None:
    """exchange → Henan → exchange: carried fields kept, text cut exactly as truncated says.

    Times in whole seconds and six-decimal coordinates (what the ICD carries).
    """
    event = _henan_ready(data, carriable(data.draw(events(event_type))))
    message = PROFILE.to_local(event)
    [back] = translated_back(message.content)
    record, cuts = _expected(event)
    envelope = event.envelope.evolve(
        correlation_id=None, causation_id=None, traceparent=None, target=None
    )
    not_carried = NOT_CARRIED.get(event_type, ())
    flag = b"T" if cuts else b" "
    expected = (envelope, record, cuts, non_empty(event.record, not_carried), flag)
    actual = (
        back.envelope,
        back.record,
        sorted(message.truncated),
        sorted(message.dropped),
        message.content[66:67],
    )
    assert expected == actual


@settings(deadline=None)
@given(
    content=st.binary(max_size=300)
    | st.sampled_from(EVENT_TYPES).flatmap(
        lambda t: st.tuples(st.integers(0, 900), st.binary(max_size=3)).map(
            lambda cut_at: (
                golden_local("henan", t, ".dat")[: cut_at[0]]
                + cut_at[1]
                + golden_local("henan", t, ".dat")[cut_at[0] + len(cut_at[1]) :]
            )
        )
    )
)
def test_any_bytes_yield_events_or_local_format_errors(content: bytes) -> None:
    """Outside input never raises: every line yields an event or a LocalFormatError."""
    parsed = list(PROFILE.from_local(content, "fuzz.dat"))
    assert [True] * len(parsed) == [
        (p.event is None) == isinstance(p.error, LocalFormatError) for p in parsed
    ]
