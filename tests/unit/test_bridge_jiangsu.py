"""The Jiangsu profile (JSON, GA keys, icd/jiangsu.md): goldens, round trips, losses, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hx_bridge_support import GOLDEN, emptied, golden_event, golden_local, non_empty
from hx_event_strategies import AGREEMENT, events
from hx_json_profile_support import (
    aligned,
    round_trip,
    whole_seconds,
    with_record,
    without_extensions,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.profiles import JiangsuProfile, get_profile
from schemas import EVENT_TYPES, ExchangeEvent
from schemas.errors import LocalFormatError, TranslationError

PROFILE = JiangsuProfile(AGREEMENT)
GOLDEN_NAMES = sorted(
    p.name.removesuffix(".exchange.json") for p in (GOLDEN / "jiangsu").glob("*.exchange.json")
)
#: What the ICD's tables have no key for, by event type.
NOT_CARRIED = {
    "PersonAlert": ("share_with", "related_alerts"),
    "VehicleAlert": ("reason", "case_ref", "share_with", "related_alerts"),
}
#: The RYBK sample of icd/jiangsu.md exactly as printed there (line breaks and all).
ICD_SAMPLE = """{"XXBH":"6f1c1d7e-2b1a-4c55-9a51-0c7e3f4f9a10","XXLX":"RYBK","FSDW":"320300000000",
 "FSSJ":"2026-11-20 09:15:02","SJ":{"BKBH":"0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31","BBH":1,
 "BKLB":"01","XM":"张伟","XMPY":"ZHANG WEI","XB":"1","CSRQ":"19880412",
 "GMSFHM":"320303198804120419","GJ":"CHN","BKYY":"涉嫌盗窃","AJBH":"A3203002026110001",
 "JSBS":["02"],"CZYQ":"01","FBDW":"320300000000","FBSJ":"2026-11-20 09:15:00",
 "YXQZ":"2027-05-20 09:15:00","CLJB":"1","FLYJ":"徐公刑拘字〔2026〕1234号",
 "LXR":{"DW":"徐州市公安局刑警支队","XM":"李明","DH":"0516-83000000"}}}"""


def read_back(content: bytes) -> ExchangeEvent:
    [parsed] = PROFILE.from_local(content, "in.json")
    assert parsed.error is None, parsed.error
    assert parsed.event is not None
    return parsed.event


def read_error(document: dict[str, Any]) -> str:
    content = json.dumps(document, ensure_ascii=False).encode("utf-8")
    [parsed] = PROFILE.from_local(content, "in.json")
    assert parsed.event is None
    return str(parsed.error)


def golden_document(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(golden_local("jiangsu", name, ".json"))
    return loaded


def test_goldens_cover_every_event_type_and_the_icd_sample() -> None:
    """There is a golden pair for each of the seven event types, plus the full RYBK."""
    expected = sorted([*EVENT_TYPES, "PersonAlert.full"])
    assert expected == GOLDEN_NAMES


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_golden_exchange_to_local(name: str) -> None:
    """Each exchange golden becomes its local golden byte for byte, nothing cut or dropped."""
    message = PROFILE.to_local(golden_event("jiangsu", name))
    expected = (golden_local("jiangsu", name, ".json"), (), ())
    assert expected == (message.content, message.truncated, message.dropped)


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_golden_local_to_exchange(name: str) -> None:
    """Each local golden becomes its exchange golden: envelope and record."""
    expected = golden_event("jiangsu", name)
    assert expected == read_back(golden_local("jiangsu", name, ".json"))


def test_icd_sample_as_printed_reads_as_the_golden() -> None:
    """The ICD's RYBK sample, with its print line breaks, is the PersonAlert golden."""
    assert golden_event("jiangsu", "PersonAlert") == read_back(ICD_SAMPLE.encode("utf-8"))


def test_file_name_media_type_and_registry() -> None:
    """A message is <XXBH>.json, sent as UTF-8 JSON; the registry knows the profile."""
    event = golden_event("jiangsu", "AlertHit")
    message = PROFILE.to_local(event)
    expected = (f"{event.envelope.message_id}.json", "application/json; charset=utf-8", True)
    actual = (
        message.file_name,
        message.media_type,
        isinstance(get_profile("jiangsu"), JiangsuProfile),
    )
    assert expected == actual


@settings(max_examples=40, deadline=None)
@given(data=st.data(), event_type=st.sampled_from(EVENT_TYPES))
def test_round_trip_keeps_what_the_icd_carries(data: st.DataObject, event_type: str) -> None:
    """exchange → local → exchange keeps every carried field; the rest is exactly `dropped`."""
    event = whole_seconds(data.draw(events(event_type)))
    not_carried = NOT_CARRIED.get(event_type, ())
    message, back = round_trip(PROFILE, event)
    expected = (
        without_extensions(event, keep_correlation=False).envelope,
        emptied(event.record, not_carried),
        non_empty(event.record, not_carried),
        (),
    )
    actual = (
        back.envelope,
        aligned(event.record, back.record),
        sorted(message.dropped),
        message.truncated,
    )
    assert expected == actual


def test_milliseconds_are_cut_and_reported_as_truncated() -> None:
    """A time with a fraction of a second is written to the second and listed as truncated."""
    event = golden_event("jiangsu", "AlertStatusChange")
    changed = with_record(event, changed_at=datetime(2026, 11, 24, 6, 0, 0, 999000, tzinfo=UTC))
    message = PROFILE.to_local(changed)
    expected = ("2026-11-24 14:00:00", ("changed_at",))
    assert expected == (json.loads(message.content)["SJ"]["BGSJ"], message.truncated)


def test_whole_second_times_are_not_reported() -> None:
    """The envelope's milliseconds are cut unreported; whole-second record times too."""
    event = golden_event("jiangsu", "HitConfirmation")
    envelope = event.envelope.evolve(created_at=datetime(2026, 11, 23, 16, 40, 0, 250000, UTC))
    message = PROFILE.to_local(ExchangeEvent(envelope, event.record))
    expected = ("2026-11-24 00:40:00", ())
    assert expected == (json.loads(message.content)["FSSJ"], message.truncated)


def test_fields_without_a_key_are_dropped_in_record_order() -> None:
    """VehicleAlert's reason, case_ref, share_with and related_alerts are reported dropped."""
    event = with_record(
        golden_event("jiangsu", "VehicleAlert"),
        reason="涉嫌盗窃",
        case_ref="A3213002026110007",
        handling="NEED_TO_KNOW",
        share_with=["320300000000"],
        related_alerts=["0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31"],
    )
    message = PROFILE.to_local(event)
    expected = (("reason", "case_ref", "share_with", "related_alerts"), "2")
    assert expected == (message.dropped, json.loads(message.content)["SJ"]["CLJB"])


@pytest.mark.parametrize(
    ("event_type", "changes", "expected"),
    [
        ("PersonAlert", {"category": "OTHER"}, "category: OTHER has no code in this local format"),
        (
            "PersonAlert",
            {"caution_flags": ["ARMED", "OTHER"]},
            "caution_flags[1]: OTHER has no code in this local format",
        ),
        (
            "AlertStatusChange",
            {"alert_kind": "UNKNOWN"},
            "alert_kind: UNKNOWN has no code in this local format",
        ),
        (
            "AlertStatusChange",
            {"status": "OTHER"},
            "status: OTHER has no code in this local format",
        ),
        (
            "AssistanceRequest",
            {"type": "OTHER"},
            "type: OTHER has no code in this local format",
        ),
    ],
)
def test_a_symbol_without_a_code_is_a_translation_error(
    event_type: str, changes: dict[str, Any], expected: str
) -> None:
    """A value the ICD has no code for is refused, naming the field."""
    event = with_record(golden_event("jiangsu", event_type), **changes)
    with pytest.raises(TranslationError) as raised:
        PROFILE.to_local(event)
    assert expected == str(raised.value)


def test_a_subject_sex_default_symbol_has_its_code() -> None:
    """Sex UNKNOWN is GB/T 2261.1 code 0, written as the string "0"."""
    event = golden_event("jiangsu", "PersonAlert")
    subject = {**event.record["subject"], "sex": "UNKNOWN"}
    message = PROFILE.to_local(with_record(event, subject=subject))
    assert "0" == json.loads(message.content)["SJ"]["XB"]


@pytest.mark.parametrize(
    ("event_type", "field", "symbol", "key"),
    [("AlertHit", "priority", "UNKNOWN", "YXJ"), ("PersonAlert", "handling", "OTHER", "CLJB")],
)
def test_default_symbols_with_a_reader_rule_are_written_as_read(
    event_type: str, field: str, symbol: str, key: str
) -> None:
    """Priority UNKNOWN is written as ROUTINE (3), handling OTHER as ORIGINATOR_CONTROL (3)."""
    event = with_record(golden_event("jiangsu", event_type), **{field: symbol})
    assert "3" == json.loads(PROFILE.to_local(event).content)["SJ"][key]


def test_absent_values_are_omitted_on_the_way_out() -> None:
    """None, empty text and empty lists leave their key out (never null or "")."""
    event = golden_event("jiangsu", "AlertHit")
    location = {**event.record["location"], "address": None, "observed_at": None}
    changed = with_record(event, action_taken="", details=None, location=location)
    body = json.loads(PROFILE.to_local(changed).content)["SJ"]
    expected = (["JD", "WD", "XZQH"], False, False)
    assert expected == (list(body["FXWZ"]), "CZQK" in body, "XQ" in body)


def test_null_and_empty_values_from_a_local_system_read_as_absent() -> None:
    """A local system that writes null or "" for an absent value is understood."""
    document = golden_document("AlertHit")
    document["SJ"]["XQ"] = None
    document["SJ"]["CZQK"] = ""
    content = json.dumps(document, ensure_ascii=False).encode("utf-8")
    record = read_back(content).record
    assert (None, None) == (record["details"], record["action_taken"])


def _set(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    target = document
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return document


_DELETE = object()


@pytest.mark.parametrize(
    ("name", "path", "value", "expected"),
    [
        ("PersonAlert", "SJ.XB", "7", "in.json: SJ.XB: not a code of this local format"),
        ("PersonAlert", "SJ.BKYY", _DELETE, "in.json: SJ.BKYY: is required"),
        (
            "PersonAlert",
            "SJ.XINGMING",
            "张伟",
            "in.json: SJ.XINGMING: is not a key of this message type",
        ),
        (
            "PersonAlert",
            "SJ.FBSJ",
            "2026-11-20T09:15:00",
            "in.json: SJ.FBSJ: must be a time such as 2026-11-20 09:15:02",
        ),
        ("PersonAlert", "SJ.CSRQ", "19880230", "in.json: SJ.CSRQ: is not a real date"),
        ("PersonAlert", "SJ.BBH", "1", "in.json: SJ.BBH: must be a whole number"),
        (
            "PersonAlert",
            "SJ.JSBS",
            ["02", "09"],
            "in.json: SJ.JSBS[1]: not a code of this local format",
        ),
        ("PersonAlert", "SJ.LXR", {"XM": "李明"}, "in.json: SJ.LXR.DW: is required"),
        (
            "AlertHit",
            "SJ.FXWZ.JD",
            "116.5",
            "in.json: SJ.FXWZ.JD: must be a number of decimal degrees",
        ),
        ("AlertHit", "SJ.XYQR", True, 'in.json: SJ.XYQR: must be "1" or "0"'),
        (
            "AlertHit",
            "XXLX",
            "BZXX",
            "in.json: XXLX: is not one of RYBK, CLBK, BKZT, BZFK, BZQR, XCQQ, XCHF",
        ),
        ("AlertHit", "XXBH", "42", "in.json: XXBH: must be a uuid"),
        ("AlertHit", "FSSJ", _DELETE, "in.json: FSSJ: is required"),
        ("AlertHit", "SJ", ["FKBH"], "in.json: SJ: must be an object"),
        ("AlertHit", "JSSJ", "x", "in.json: JSSJ: is not a key of the Jiangsu envelope"),
    ],
)
def test_bad_local_messages_name_the_key_and_the_rule(
    name: str, path: str, value: Any, expected: str
) -> None:
    """Each broken message is one LocalFormatError naming its key path and the rule."""
    assert expected == read_error(_set(golden_document(name), path, value))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b'{"XXBH": "a",',
            "in.json: line 1 column 14: not JSON: "
            "Expecting property name enclosed in double quotes",
        ),
        (b'{"XXBH":"a","XXBH":"b"}', "in.json: key 'XXBH' appears twice in one object"),
        (b"[]", "in.json: the message must be one JSON object, not an array"),
        (b'{"XM":"\xd5\xc5"}', "in.json: line 1 column 8: not UTF-8 (byte 0xd5)"),
    ],
)
def test_bytes_that_are_not_one_json_object_are_refused(content: bytes, expected: str) -> None:
    """Broken JSON, duplicate keys, a non-object and GBK bytes are LocalFormatErrors."""
    [parsed] = PROFILE.from_local(content, "in.json")
    assert (None, LocalFormatError, expected) == (
        parsed.event,
        type(parsed.error),
        str(parsed.error),
    )
