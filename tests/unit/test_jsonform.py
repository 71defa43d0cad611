"""The exchange's JSON form: parse, render, read files, and the round trips (JSON, Avro)."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hx_event_strategies import AGREEMENT, events
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import (
    EVENT_MODELS,
    EVENT_TYPES,
    Envelope,
    ExchangeEvent,
    parse_event,
    read_events,
    render_event,
)
from schemas.codec import Codec
from schemas.errors import UnreadableInput, ValidationFailed
from schemas.jsonform import read_json_values

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"
VALID_FIXTURES = sorted(FIXTURES.glob("*.json"))
FIELD_NAMES = sorted({name for model in EVENT_MODELS.values() for name in model.model_fields})


def load(name: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return obj


def issues_of(obj: Any) -> list[str]:
    """The issues parse_event reports, as printed; [] when the event is valid."""
    try:
        parse_event(obj, AGREEMENT)
    except ValidationFailed as failed:
        return [str(issue) for issue in failed.issues]
    return []


def with_changes(name: str, **changes: Any) -> dict[str, Any]:
    """A fixture event with top-level attributes changed (None removes one)."""
    obj = load(name)
    for key, value in changes.items():
        if value is None:
            obj.pop(key, None)
        else:
            obj[key] = value
    return obj


@pytest.mark.parametrize("path", VALID_FIXTURES, ids=lambda p: p.name)
def test_every_fixture_is_valid(path: Path) -> None:
    """Each shared fixture under tests/fixtures/events/ is a valid exchange event."""
    obj = json.loads(path.read_text(encoding="utf-8"))
    assert [] == issues_of(obj)


def test_one_fixture_per_event_type() -> None:
    """The fixtures hold at least one valid event of every type."""
    types = {json.loads(p.read_text(encoding="utf-8"))["type"] for p in VALID_FIXTURES}
    assert set(EVENT_TYPES) == types


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "person_alert_xuzhou.json",
            Envelope(
                event_type="PersonAlert",
                source="320300000000",
                message_id="6f1c1d7e-2b1a-4c55-9a51-0c7e3f4f9a10",
                created_at=datetime(2026, 11, 20, 1, 15, 2, tzinfo=UTC),
            ),
        ),
        (
            "vehicle_alert_jining.json",
            Envelope(
                event_type="VehicleAlert",
                source="370800000000",
                message_id="2f4d0a63-6a0b-4f7e-8a53-5d1c9e0b7a44",
                created_at=datetime(2026, 11, 21, 6, 2, 11, tzinfo=UTC),
            ),
        ),
        (
            "alert_hit_huaibei.json",
            Envelope(
                event_type="AlertHit",
                source="340600000000",
                message_id="c1a0b3e2-7d44-4b8f-9e61-3f2a5d6c7b80",
                created_at=datetime(2025, 11, 24, 7, 40, tzinfo=UTC),  # sent_at_ms 1763970000000
                target="370800000000",
            ),
        ),
    ],
)
def test_icd_samples_keep_their_envelopes(name: str, expected: Envelope) -> None:
    """The ICD samples' message id, sender and send time become the envelope (in UTC)."""
    assert expected == parse_event(load(name), AGREEMENT).envelope


def test_anhui_sample_hit_record() -> None:
    """The Anhui hit: epoch milliseconds as UTC times, BD-09 turned WGS-84, enums by name."""
    record = parse_event(load("alert_hit_huaibei.json"), AGREEMENT).record
    expected = {
        "hit_id": "5e8f2c1a-9b3d-4e7f-a062-1d4c8b9e2f35",
        "alert_id": "9d3c6b52-1f0e-4d2a-8e57-0a6f3b2c1d90",
        "alert_kind": "VEHICLE",
        "reporting_agency": "340600000000",
        "observed_at": datetime(2025, 11, 24, 7, 30, tzinfo=UTC),  # 1763969400000
        "location": {
            "lat": 33.961772,
            "lon": 116.793174,
            "admin_code": "340602",
            "address": None,
            "observed_at": None,
        },
        "source": "CHECKPOINT_CAMERA",
        "action_taken": "卡口抓拍，已通知巡逻",
        "details": None,
        "confirmation_requested": True,
        "priority": "IMMEDIATE",
    }
    assert expected == record


def test_render_writes_the_normal_form() -> None:
    """Rendering gives UTC times with milliseconds and Z, dates, no None values, [] arrays."""
    expected = {
        "specversion": "1.0",
        "type": "PersonAlert",
        "source": "320300000000",
        "id": "6f1c1d7e-2b1a-4c55-9a51-0c7e3f4f9a10",
        "time": "2026-11-20T01:15:02.000Z",
        "data": {
            "alert_id": "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31",
            "revision": 1,
            "category": "WANTED",
            "subject": {
                "name": "张伟",
                "name_pinyin": "ZHANG WEI",
                "aliases": [],
                "sex": "MALE",
                "birth_date": "1988-04-12",
                "id_number": "320303198804120419",
                "nationality": "CHN",
                "photos": [],
            },
            "reason": "涉嫌盗窃",
            "case_ref": "A3203002026110001",
            "caution_flags": ["VIOLENT"],
            "requested_action": "LOCATE_AND_DETAIN",
            "issuing_agency": "320300000000",
            "issued_at": "2026-11-20T01:15:00.000Z",
            "valid_until": "2027-05-20T01:15:00.000Z",
            "handling": "SHARE_ALL_PARTNERS",
            "share_with": [],
            "legal_basis": "徐公刑拘字〔2026〕1234号",
            "contact": {
                "unit": "徐州市公安局刑警支队",
                "officer": "李明",
                "phone": "0516-83000000",
            },
            "related_alerts": [],
        },
    }
    assert expected == render_event(parse_event(load("person_alert_xuzhou.json"), AGREEMENT))


def test_missing_id_and_time_are_filled_in() -> None:
    """Without id and time, a new uuid4 and the given now (in UTC ms) are used."""
    now = datetime(2026, 11, 20, 9, 15, 2, 345678).astimezone(UTC)
    event = parse_event(
        with_changes("person_alert_xuzhou.json", id=None, time=None), AGREEMENT, now=now
    )
    message_id = uuid.UUID(event.envelope.message_id)
    assert (4, str(message_id), now.replace(microsecond=345000)) == (
        message_id.version,
        event.envelope.message_id,
        event.envelope.created_at,
    )


def test_upper_case_message_id_is_normalised() -> None:
    """An upper-case id is accepted and written lower-case."""
    obj = with_changes("person_alert_xuzhou.json", id="6F1C1D7E-2B1A-4C55-9A51-0C7E3F4F9A10")
    assert "6f1c1d7e-2b1a-4c55-9a51-0c7e3f4f9a10" == parse_event(obj, AGREEMENT).envelope.message_id


TRACE_RULE = (
    "traceparent: must be a W3C traceparent such as "
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
)


@pytest.mark.parametrize(
    ("name", "changes", "expected"),
    [
        (
            "person_alert_xuzhou.json",
            {"specversion": "0.3"},
            ['specversion: must be "1.0" (CloudEvents 1.0)'],
        ),
        ("person_alert_xuzhou.json", {"specversion": None}, ["specversion: is required"]),
        (
            "person_alert_xuzhou.json",
            {"type": "PersonAlarm"},
            [
                "type: must be one of PersonAlert, VehicleAlert, AlertStatusChange, AlertHit, "
                "HitConfirmation, AssistanceRequest, AssistanceResponse"
            ],
        ),
        ("person_alert_xuzhou.json", {"type": None}, ["type: is required"]),
        (
            "person_alert_xuzhou.json",
            {"source": "320100000000"},
            ["source: is not an agency of the agreement"],
        ),
        (
            "person_alert_xuzhou.json",
            {"source": "370800000000"},
            [
                "source: issuer_mismatch: the source 370800000000 is not the issuing_agency "
                "320300000000: an agency speaks only for itself"
            ],
        ),
        ("person_alert_xuzhou.json", {"source": 320300000000}, ["source: must be text"]),
        (
            "person_alert_xuzhou.json",
            {"id": "6f1c1d7e"},
            ["id: must be a uuid such as 0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31"],
        ),
        (
            "person_alert_xuzhou.json",
            {"time": "2026-11-20 09:15:02"},
            ["time: needs a time zone offset, such as +08:00 or Z"],
        ),
        ("person_alert_xuzhou.json", {"time": 1763970000000}, ["time: must be text"]),
        ("person_alert_xuzhou.json", {"traceparent": "00-abc"}, [TRACE_RULE]),
        (
            "person_alert_xuzhou.json",
            {"traceparent": "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
            [TRACE_RULE],
        ),
        (
            "person_alert_xuzhou.json",
            {"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
            [TRACE_RULE],
        ),
        (
            "person_alert_xuzhou.json",
            {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"},
            [TRACE_RULE],
        ),
        (
            "person_alert_xuzhou.json",
            {"traceparent": "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"},
            [TRACE_RULE],
        ),
        (
            "person_alert_xuzhou.json",
            {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xx"},
            [TRACE_RULE],
        ),
        (
            "person_alert_xuzhou.json",
            {"correlationid": "case-42"},
            ["correlationid: must be a uuid such as 0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31"],
        ),
        (
            "person_alert_xuzhou.json",
            {"hxtarget": "370800000000"},
            ["hxtarget: a PersonAlert goes to every partner: leave hxtarget out"],
        ),
        (
            "alert_hit_huaibei.json",
            {"hxtarget": "370800000001"},
            ["hxtarget: is not an agency of the agreement"],
        ),
        (
            "assistance_request_xuzhou.json",
            {"hxtarget": "411400000000"},
            ["hxtarget: must be one of the request's target_agencies"],
        ),
        (
            "person_alert_xuzhou.json",
            {"hxtraget": "370800000000"},
            ["hxtraget: is not an attribute of an exchange event"],
        ),
        (
            "person_alert_xuzhou.json",
            {"datacontenttype": "application/xml"},
            ["datacontenttype: must be application/json when given"],
        ),
        ("person_alert_xuzhou.json", {"data": None}, ["data: is required"]),
        ("person_alert_xuzhou.json", {"data": "{}"}, ["data: must be an object"]),
    ],
)
def test_envelope_rules(name: str, changes: dict[str, Any], expected: list[str]) -> None:
    """Each broken envelope rule is one issue named by its CloudEvents attribute."""
    assert expected == issues_of(with_changes(name, **changes))


def test_valid_optional_attributes_are_kept() -> None:
    """datacontenttype application/json, a future traceparent version and uuids are accepted."""
    obj = with_changes(
        "alert_hit_huaibei.json",
        datacontenttype="application/json",
        traceparent="01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future",
        causationid="6F1C1D7E-2B1A-4C55-9A51-0C7E3F4F9A10",
    )
    envelope = parse_event(obj, AGREEMENT).envelope
    assert (
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future",
        "6f1c1d7e-2b1a-4c55-9a51-0c7e3f4f9a10",
    ) == (
        envelope.traceparent,
        envelope.causation_id,
    )


def test_envelope_and_data_issues_are_listed_together() -> None:
    """Envelope issues first, then data issues prefixed ``data.``, all in one failure."""
    obj = with_changes("vehicle_alert_jining.json", specversion="1", traceparent="x")
    obj["data"]["vin"] = "LSVAM4188C2184847"
    obj["data"]["plate"]["number"] = "鲁I7K3M9"
    expected = [
        'specversion: must be "1.0" (CloudEvents 1.0)',
        TRACE_RULE,
        "data.plate.number: authority letter may not be I or O",
        "data.vin: check digit (position 9) is 8, expected 7",
    ]
    assert expected == issues_of(obj)


def test_an_event_must_be_an_object() -> None:
    """A JSON array where an event belongs is one issue with no path."""
    assert ["an event must be a JSON object"] == issues_of([load("person_alert_xuzhou.json")])


def test_missing_type_and_source_still_report_the_rest() -> None:
    """Without type and source the other attributes are still checked, each once."""
    obj = {"specversion": "1.0", "hxtarget": "1", "data": {}}
    expected = [
        "type: is required",
        "source: is required",
        "hxtarget: is not an agency of the agreement",
    ]
    assert expected == issues_of(obj)


def _ndjson(*names: str) -> str:
    return "".join(json.dumps(load(n), ensure_ascii=False) + "\n" for n in names)


def _outcomes(source: Any) -> list[tuple[int, str]]:
    """(line, type or first issue) of each event read."""
    return [
        (line, o.event_type if isinstance(o, ExchangeEvent) else str(o.issues[0]))
        for line, o in read_events(source, AGREEMENT)
    ]


def test_ndjson_events_carry_their_line_numbers(tmp_path: Path) -> None:
    """NDJSON: one event a line, blank lines skipped, each event with its own line."""
    path = tmp_path / "events.ndjson"
    bad = load("vehicle_alert_jining.json")
    bad["data"]["vin"] = "LSVAM4188C2184847"
    lines = (
        _ndjson("person_alert_xuzhou.json")
        + "\n   \n"
        + json.dumps(bad)
        + "\n"
        + _ndjson("alert_hit_huaibei.json")
    )
    path.write_text(lines, encoding="utf-8")
    expected = [
        (1, "PersonAlert"),
        (4, "data.vin: check digit (position 9) is 8, expected 7"),
        (5, "AlertHit"),
    ]
    assert expected == _outcomes(path)


def test_pretty_printed_events_start_where_they_start(tmp_path: Path) -> None:
    """Pretty-printed events, one after the other, are read with their first line."""
    first = json.dumps(load("person_alert_xuzhou.json"), ensure_ascii=False, indent=2)
    second = json.dumps(load("alert_hit_huaibei.json"), ensure_ascii=False, indent=2)
    path = tmp_path / "two.json"
    path.write_text(f"\n{first}\n\n{second}", encoding="utf-8")
    second_line = 2 + first.count("\n") + 2
    assert [(2, "PersonAlert"), (second_line, "AlertHit")] == _outcomes(path)


def test_streams_of_bytes_and_text_are_read() -> None:
    """A binary stream (with a UTF-8 BOM) and a text stream give the same events."""
    text = _ndjson("person_alert_xuzhou.json", "vehicle_alert_jining.json")
    as_bytes = io.BytesIO(b"\xef\xbb\xbf" + text.encode("utf-8"))
    expected = [(1, "PersonAlert"), (2, "VehicleAlert")]
    assert (expected, expected) == (_outcomes(as_bytes), _outcomes(io.StringIO(text)))


def test_values_sharing_a_line_get_that_line() -> None:
    """Two values on one line (and a non-object) are each read, the non-object refused."""
    text = '{"a": 1} 42\n[1,\n 2]\n'
    assert [(1, {"a": 1}), (1, 42), (2, [1, 2])] == list(read_json_values(io.StringIO(text)))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b'{"specversion": "1.0"}\n\xff\xfe\n',
            "in.json:2: not UTF-8 text (byte 0xff at column 1)",
        ),
        (b'{"a": 1}\n{"a": tru}\n', "in.json:2: not JSON: Expecting value"),
        (b"hello\n", "in.json:1: not JSON: Expecting value"),
        (b'{\n  "a": 1,\n', "in.json:1: the JSON value that starts here is cut off at the end"),
        (
            b'{"a": 1}\n\n{"b":\n',
            "in.json:3: the JSON value that starts here is cut off at the end",
        ),
    ],
)
def test_unreadable_input_names_file_and_line(tmp_path: Path, content: bytes, message: str) -> None:
    """Bytes that are not UTF-8 JSON raise UnreadableInput naming file and line."""
    path = tmp_path / "in.json"
    path.write_bytes(content)
    with pytest.raises(UnreadableInput) as caught:
        list(read_json_values(path))
    assert message == str(caught.value).removeprefix(f"{tmp_path}/")


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    """A file that does not exist raises UnreadableInput with the system's reason."""
    path = tmp_path / "absent.json"
    with pytest.raises(UnreadableInput) as caught:
        list(read_events(path, AGREEMENT))
    assert f"{path}: cannot read: No such file or directory" == str(caught.value)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_json_round_trip_is_the_identity(event_type: str, data: st.DataObject) -> None:
    """JSON → model → record → JSON gives back the normalised JSON, and the same event."""
    event = data.draw(events(event_type))
    rendered = render_event(event)
    parsed = parse_event(json.loads(json.dumps(rendered, ensure_ascii=False)), AGREEMENT)
    assert (event, rendered) == (parsed, render_event(parsed))


CODEC = Codec()


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_json_avro_round_trip_is_the_identity(event_type: str, data: st.DataObject) -> None:
    """JSON → record → Avro → record → JSON gives back the normalised JSON."""
    event = data.draw(events(event_type))
    rendered = render_event(event)
    parsed = parse_event(json.loads(json.dumps(rendered, ensure_ascii=False)), AGREEMENT)
    decoded_type, record = CODEC.decode(CODEC.encode(event_type, parsed.record))
    again = render_event(ExchangeEvent(parsed.envelope, record))
    assert (event_type, rendered) == (decoded_type, again)


@pytest.mark.parametrize("path", VALID_FIXTURES, ids=lambda p: p.name)
def test_fixtures_survive_avro(path: Path) -> None:
    """Each shared fixture's record comes back from Avro unchanged."""
    event = parse_event(json.loads(path.read_text(encoding="utf-8")), AGREEMENT)
    assert (event.event_type, event.record) == CODEC.decode(
        CODEC.encode(event.event_type, event.record)
    )


def test_deep_nesting_is_unreadable_not_a_crash() -> None:
    """A value nested beyond the parser's depth is refused as unreadable input."""
    with pytest.raises(UnreadableInput) as caught:
        list(read_json_values(io.StringIO("[" * 100_000 + "]" * 100_000)))
    assert "<stream>:1: JSON nested too deeply" == str(caught.value)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(deadline=None)
@given(content=st.binary(max_size=120) | st.text('{}[]":,1a \n\\', max_size=60).map(str.encode))
def test_any_input_is_read_or_refused_as_unreadable(content: bytes) -> None:
    """Arbitrary bytes give JSON values (which read back the same) or UnreadableInput."""
    try:
        values = [json.dumps(v) for _, v in read_json_values(io.BytesIO(content))]
    except UnreadableInput:
        return
    again = [json.dumps(v) for _, v in read_json_values(io.StringIO("\n".join(values)))]
    assert values == again


@settings(deadline=None)
@given(
    event_type=st.sampled_from(EVENT_TYPES),
    attributes=st.dictionaries(
        st.sampled_from(["specversion", "type", "source", "id", "time", "hxtarget", "x"]),
        JSON_VALUES,
    ),
    data=st.dictionaries(st.sampled_from(FIELD_NAMES), JSON_VALUES),
)
def test_any_object_is_an_event_or_plain_issues(
    event_type: str, attributes: dict[str, Any], data: dict[str, Any]
) -> None:
    """Whatever an object holds, parse_event gives an event or issues with plain rules."""
    obj = {"specversion": "1.0", "type": event_type, "source": "320300000000", "data": data}
    obj.update(attributes)
    try:
        parse_event(obj, AGREEMENT)
    except ValidationFailed as failed:
        unclear = [i for i in failed.issues if not i.rule or "Input should" in i.rule]
        assert [] == unclear
