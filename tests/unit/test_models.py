"""The domain models through validate_record: the record form, normalisation, every rule."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hx_event_strategies import AGREEMENT, events, timestamps
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import (
    DEFAULT_AGREEMENT_PATH,
    EVENT_MODELS,
    EVENT_TYPES,
    parse_agreement,
    validate_record,
)
from schemas.errors import Issue, ValidationFailed
from schemas.models import PersonAlert
from schemas.validation import normalise_time

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"
#: The issue time every fixture-based case validates against (the Xuzhou request's time).
ISSUED = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def fixture(name: str) -> dict[str, Any]:
    """The ``data`` of one fixture event, a fresh copy."""
    obj: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return copy.deepcopy(obj["data"])


def changed(name: str, path: str, value: Any) -> dict[str, Any]:
    """A fixture's data with one value at a dotted path set (``[i]`` indexes a list)."""
    data = fixture(name)
    node: Any = data
    parts = path.replace("[", ".").replace("]", "").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if value is _DELETE:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


_DELETE = object()
PERSON = "person_alert_xuzhou.json"
PERSON_FULL = "person_alert_suqian.json"
VEHICLE = "vehicle_alert_jining.json"
VEHICLE_HENAN = "vehicle_alert_shangqiu.json"
HIT = "alert_hit_huaibei.json"
REQUEST = "assistance_request_xuzhou.json"
FIXTURE_OF_TYPE = {
    "PersonAlert": PERSON,
    "VehicleAlert": VEHICLE,
    "AlertStatusChange": "alert_status_change_jining.json",
    "AlertHit": HIT,
    "HitConfirmation": "hit_confirmation_jining.json",
    "AssistanceRequest": REQUEST,
    "AssistanceResponse": "assistance_response_jining.json",
}


def issues_of(event_type: str, data: Any, *, now: datetime = ISSUED) -> list[str]:
    """The issues validate_record reports, as printed; [] when the record is valid."""
    try:
        validate_record(event_type, data, AGREEMENT, now=now)
    except ValidationFailed as failed:
        return [str(issue) for issue in failed.issues]
    return []


def test_every_event_type_has_a_model() -> None:
    """EVENT_MODELS covers exactly the seven event types of the contract."""
    assert list(EVENT_TYPES) == list(EVENT_MODELS)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_record_form_has_every_field(event_type: str) -> None:
    """to_record() holds every field of the model, absent optionals None, arrays []."""
    record = validate_record(
        event_type, fixture(FIXTURE_OF_TYPE[event_type]), AGREEMENT, now=ISSUED
    )
    assert list(EVENT_MODELS[event_type].model_fields) == list(record)


def test_jiangsu_sample_record() -> None:
    """The Jiangsu ICD sample becomes exactly this record (UTC times, dates, None, [])."""
    expected = {
        "alert_id": "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31",
        "revision": 1,
        "category": "WANTED",
        "subject": {
            "name": "张伟",
            "name_pinyin": "ZHANG WEI",
            "aliases": [],
            "sex": "MALE",
            "birth_date": date(1988, 4, 12),
            "id_number": "320303198804120419",
            "nationality": "CHN",
            "height_cm": None,
            "description": None,
            "photos": [],
        },
        "reason": "涉嫌盗窃",
        "case_ref": "A3203002026110001",
        "caution_flags": ["VIOLENT"],
        "requested_action": "LOCATE_AND_DETAIN",
        "last_known": None,
        "issuing_agency": "320300000000",
        "issued_at": datetime(2026, 11, 20, 1, 15, tzinfo=UTC),
        "valid_until": datetime(2027, 5, 20, 1, 15, tzinfo=UTC),
        "handling": "SHARE_ALL_PARTNERS",
        "share_with": [],
        "legal_basis": "徐公刑拘字〔2026〕1234号",
        "contact": {"unit": "徐州市公安局刑警支队", "officer": "李明", "phone": "0516-83000000"},
        "related_alerts": [],
    }
    assert expected == validate_record("PersonAlert", fixture(PERSON), AGREEMENT, now=ISSUED)


@pytest.mark.parametrize(
    ("given_time", "expected"),
    [
        ("2026-11-20T09:15:00+08:00", datetime(2026, 11, 20, 1, 15, tzinfo=UTC)),
        ("2026-11-20T01:15:00Z", datetime(2026, 11, 20, 1, 15, tzinfo=UTC)),
        ("2026-11-20t01:15:00z", datetime(2026, 11, 20, 1, 15, tzinfo=UTC)),
        ("2026-11-20 01:15:00.123456789-00:00", datetime(2026, 11, 20, 1, 15, 0, 123000, UTC)),
        ("2026-11-19T20:15:00.9999-05:00", datetime(2026, 11, 20, 1, 15, 0, 999000, UTC)),
        (
            datetime(2026, 11, 20, 9, 15, 0, 987654, timezone(timedelta(hours=8))),
            datetime(2026, 11, 20, 1, 15, 0, 987000, UTC),
        ),
    ],
)
def test_timestamps_normalise_to_utc_milliseconds(given_time: Any, expected: datetime) -> None:
    """Any offset in, UTC out, truncated (not rounded) to the millisecond."""
    data = changed(PERSON, "issued_at", given_time)
    record = validate_record("PersonAlert", data, AGREEMENT, now=ISSUED)
    assert (expected, UTC) == (record["issued_at"], record["issued_at"].tzinfo)


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            "alert_id",
            "0B9E5D1E-8A53-4C1E-B0F4-7D1D5A0C2E31",
            "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31",
        ),
        ("subject.id_number", "320303880412041", "320303198804120419"),
        ("subject.id_number", "11010519491231002x", "11010519491231002X"),
        ("subject.nationality", "chn", "CHN"),
        (
            "subject.photos",
            [{"uri": "s3://p/1.jpg", "sha256": "AB" * 32}],
            [{"uri": "s3://p/1.jpg", "sha256": "ab" * 32}],
        ),
        ("case_ref", "  ", None),
        ("case_ref", "", None),
    ],
)
def test_values_are_normalised(path: str, value: Any, expected: Any) -> None:
    """Uuids and digests lower-case, 15-digit numbers converted, alpha-3 upper, blank absent."""
    data = changed(PERSON, path, value)
    if path == "subject.id_number":
        data["subject"].update(birth_date=None, sex="UNKNOWN")  # another person than 张伟
    record = validate_record("PersonAlert", data, AGREEMENT, now=ISSUED)
    actual: Any = record
    for part in path.split("."):
        actual = actual[part]
    assert expected == actual


def test_vehicle_values_are_normalised() -> None:
    """Plates lose their separators and VINs are upper-cased."""
    data = changed(VEHICLE, "plate.number", "鲁H·7k3m9")
    data["vin"] = "lsvam4187c2184847"
    record = validate_record("VehicleAlert", data, AGREEMENT, now=ISSUED)
    assert ("鲁H7K3M9", "LSVAM4187C2184847") == (record["plate"]["number"], record["vin"])


@pytest.mark.parametrize(
    ("name", "path", "value", "expected"),
    [
        # identities, times, ids
        (
            PERSON,
            "subject.id_number",
            "320303198804120418",
            "subject.id_number: the check character (18th) does not match the first 17 (GB 11643)",
        ),
        (
            PERSON,
            "subject.birth_date",
            "1988-04-13",
            "subject.id_number: holds another birth date than birth_date",
        ),
        (
            PERSON,
            "subject.sex",
            "FEMALE",
            "subject.id_number: is the number of a MALE person (17th digit), but sex is FEMALE",
        ),
        (
            PERSON,
            "subject.birth_date",
            "1988-02-30",
            "subject.birth_date: is not a real date (month or day out of range)",
        ),
        (PERSON, "subject.birth_date", "19880412", "subject.birth_date: must be a date YYYY-MM-DD"),
        (PERSON, "subject.height_cm", 29, "subject.height_cm: must be at least 30"),
        (PERSON, "subject.height_cm", 273, "subject.height_cm: must be at most 272"),
        (PERSON, "subject.height_cm", "170", "subject.height_cm: must be a whole number"),
        (
            PERSON,
            "subject.nationality",
            "CN",
            "subject.nationality: must be an ISO 3166 alpha-3 country code such as CHN",
        ),
        (PERSON, "subject.name", " ", "subject.name: may not be empty"),
        (
            PERSON,
            "subject.photos",
            [{"uri": "photo.jpg", "sha256": "0" * 64}],
            "subject.photos[0].uri: must be an absolute URI such as https://photos.example/1.jpg",
        ),
        (
            PERSON,
            "subject.photos",
            [{"uri": "https://p.example/1.jpg", "sha256": "0" * 63}],
            "subject.photos[0].sha256: must be a SHA-256 digest of 64 hex digits",
        ),
        (
            PERSON,
            "alert_id",
            "0b9e5d1e8a534c1eb0f47d1d5a0c2e31",
            "alert_id: must be a uuid such as 0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31",
        ),
        (
            PERSON,
            "alert_id",
            "00000000-0000-0000-0000-000000000000",
            "alert_id: may not be the nil uuid",
        ),
        (PERSON, "revision", 0, "revision: must be at least 1"),
        (PERSON, "revision", 10_000, "revision: must be at most 9999"),
        (PERSON, "revision", True, "revision: must be a whole number"),
        (
            PERSON,
            "issued_at",
            "2026-11-20T09:15:00",
            "issued_at: needs a time zone offset, such as +08:00 or Z",
        ),
        (
            PERSON,
            "issued_at",
            datetime(2026, 11, 20, 9, 15),
            "issued_at: needs a time zone offset, such as +08:00 or Z",
        ),
        (
            PERSON,
            "issued_at",
            1763970000000,
            "issued_at: must be an RFC 3339 time such as 2026-11-20T09:15:00+08:00",
        ),
        (
            PERSON,
            "issued_at",
            "2026-11-20",
            "issued_at: must be an RFC 3339 time such as 2026-11-20T09:15:00+08:00",
        ),
        (
            PERSON,
            "issued_at",
            "2026-02-30T09:15:00+08:00",
            "issued_at: is not a real time (month, day or hour out of range)",
        ),
        (
            PERSON,
            "valid_until",
            "2026-11-20T09:15:00+08:00",
            "valid_until: must be after issued_at (2026-11-20T01:15:00.000Z), "
            "by one second at least",
        ),
        (
            PERSON,
            "valid_until",
            "2026-11-19T09:15:00+08:00",
            "valid_until: must be after issued_at (2026-11-20T01:15:00.000Z), "
            "by one second at least",
        ),
        # agencies and sharing
        (
            PERSON,
            "issuing_agency",
            "320100000000",
            "issuing_agency: is not an agency of the agreement",
        ),
        (
            PERSON,
            "share_with",
            ["370800000000"],
            "share_with: must be empty when handling is SHARE_ALL_PARTNERS (every partner "
            "receives it)",
        ),
        (
            PERSON,
            "handling",
            "NEED_TO_KNOW",
            "share_with: must name at least one agency when handling is NEED_TO_KNOW",
        ),
        (
            PERSON_FULL,
            "share_with",
            [],
            "share_with: must name at least one agency when handling is NEED_TO_KNOW",
        ),
        (
            PERSON_FULL,
            "share_with[2]",
            "320300000000",
            "share_with: lists the same entry twice ([0] and [2])",
        ),
        (
            PERSON_FULL,
            "share_with[1]",
            "341300000001",
            "share_with[1]: is not an agency of the agreement",
        ),
        # enums and their default symbols
        (
            PERSON,
            "category",
            "OTHER",
            "category: must be WANTED, SUSPECT, MISSING, AT_RISK, WITNESS or DISCREET_CHECK",
        ),
        (
            PERSON,
            "handling",
            "OTHER",
            "handling: must be SHARE_ALL_PARTNERS, NEED_TO_KNOW or ORIGINATOR_CONTROL",
        ),
        (
            PERSON,
            "caution_flags",
            ["ARMED", "OTHER"],
            "caution_flags[1]: must be ARMED, VIOLENT, SELF_HARM, ESCAPE_RISK or MEDICAL",
        ),
        (
            PERSON,
            "caution_flags",
            ["ARMED", "ARMED"],
            "caution_flags: lists the same entry twice ([0] and [1])",
        ),
        (
            PERSON,
            "requested_action",
            "locate_and_detain",
            "requested_action: must be LOCATE_AND_DETAIN, LOCATE_AND_REPORT, DISCREET_OBSERVE or "
            "PROTECT",
        ),
        (
            HIT,
            "priority",
            "UNKNOWN",
            "priority: must be IMMEDIATE, URGENT or ROUTINE",
        ),
        (HIT, "alert_kind", "UNKNOWN", "alert_kind: must be PERSON or VEHICLE"),
        (HIT, "confirmation_requested", "true", "confirmation_requested: must be true or false"),
        # shapes
        (PERSON, "contact", "李明", "contact: must be an object"),
        (PERSON, "subject.aliases", "张三", "subject.aliases: must be a list"),
        (PERSON, "reason", 7, "reason: must be text"),
        (PERSON, "reason", _DELETE, "reason: is required"),
        (
            PERSON,
            "subject.passport",
            "E12345678",
            "subject.passport: is not a field of the contract (misspelt?)",
        ),
        # places
        (
            HIT,
            "location.admin_code",
            "320100",
            "location.admin_code: 320100 is not in a city of the agreement (3203, 3207, 3213)",
        ),
        (
            HIT,
            "location.lat",
            116.793174,
            "location.lat: latitude must be between -90 and 90 degrees",
        ),
        (
            HIT,
            "location.lon",
            33.961772,
            "location.lon: longitude is outside China (73.5…135.1 °E): WGS-84 decimal "
            "degrees expected; are latitude and longitude swapped?",
        ),
        (HIT, "location.lat", "33.9", "location.lat: must be a number"),
        # vehicles
        (VEHICLE, "plate.number", "鲁O7K3M9", "plate.number: authority letter may not be I or O"),
        (
            VEHICLE,
            "plate.number",
            "鲁Z7K3M9",
            "plate.number: 鲁Z is not a plate authority of 鲁 (known: ABCDEFGHJKLMNPQRSUVY)",
        ),
        (
            VEHICLE,
            "plate.type",
            "SMALL_NEW_ENERGY",
            "plate.type: a SMALL_NEW_ENERGY plate has D or F, a letter or digit and 4 digits "
            "after 鲁H, as in 鲁HD12345; 鲁H7K3M9 does not",
        ),
        (
            VEHICLE,
            "plate.type",
            "02",
            "plate.type: must be LARGE, SMALL, MOTORCYCLE, TRAILER, LEARNER, POLICE, "
            "LARGE_NEW_ENERGY, SMALL_NEW_ENERGY or OTHER",
        ),
        (VEHICLE, "vin", "LSVAM4188C2184847", "vin: check digit (position 9) is 8, expected 7"),
        (
            VEHICLE,
            "body_colour",
            "A",
            "body_colour: must be WHITE, GREY, YELLOW, PINK, RED, PURPLE, GREEN, BLUE, BROWN, "
            "BLACK or OTHER",
        ),
        (
            VEHICLE,
            "linked_person_alerts",
            ["0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31"] * 2,
            "linked_person_alerts: lists the same entry twice ([0] and [1])",
        ),
        (
            VEHICLE_HENAN,
            "plate.number",
            "豫N12345",
            "plate.type: a SMALL_NEW_ENERGY plate has D or F, a letter or digit and 4 digits "
            "after 豫N, as in 豫ND12345; 豫N12345 does not",
        ),
    ],
)
def test_each_broken_rule_names_its_field(name: str, path: str, value: Any, expected: str) -> None:
    """One broken rule gives exactly one issue: the field's path and the rule in plain words."""
    event_type = json.loads((FIXTURES / name).read_text(encoding="utf-8"))["type"]
    assert [expected] == issues_of(event_type, changed(name, path, value))


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        (PERSON, "subject.sex", "UNKNOWN"),
        (VEHICLE, "plate.type", "OTHER"),
        (VEHICLE, "body_colour", "OTHER"),
        (HIT, "source", "OTHER"),
        (PERSON, "subject.sex", "UNSPECIFIED"),
    ],
)
def test_default_symbols_every_icd_can_express_are_accepted(
    name: str, path: str, value: str
) -> None:
    """Sex UNKNOWN, plate type OTHER, colour OTHER, hit source OTHER have ICD codes: accepted."""
    event_type = json.loads((FIXTURES / name).read_text(encoding="utf-8"))["type"]
    assert [] == issues_of(event_type, changed(name, path, value))


def test_every_broken_rule_is_listed_at_once() -> None:
    """A record breaking several rules gets one issue per rule, in field order."""
    data = changed(PERSON, "subject.id_number", "320303198804120418")
    data["category"] = "OTHER"
    data["issuing_agency"] = "999900000000"
    data["valid_until"] = "2026-11-19T09:15:00+08:00"
    data["share_with"] = ["320300000000"]
    expected = [
        "category: must be WANTED, SUSPECT, MISSING, AT_RISK, WITNESS or DISCREET_CHECK",
        "subject.id_number: the check character (18th) does not match the first 17 (GB 11643)",
        "issuing_agency: is not an agency of the agreement",
        "valid_until: must be after issued_at (2026-11-20T01:15:00.000Z), by one second at least",
        "share_with: must be empty when handling is SHARE_ALL_PARTNERS (every partner receives it)",
    ]
    assert expected == issues_of("PersonAlert", data)


@pytest.mark.parametrize(
    ("priority", "ack_after", "expected"),
    [
        ("IMMEDIATE", timedelta(minutes=10), []),
        ("IMMEDIATE", timedelta(seconds=0), []),
        (
            "IMMEDIATE",
            timedelta(minutes=10, milliseconds=1),
            [
                "ack_by: must be no later than 2026-11-20T02:10:00.000Z: an IMMEDIATE request is "
                "acknowledged within 10 minutes of its issue"
            ],
        ),
        ("URGENT", timedelta(hours=1), []),
        (
            "URGENT",
            timedelta(hours=1, seconds=1),
            [
                "ack_by: must be no later than 2026-11-20T03:00:00.000Z: an URGENT request is "
                "acknowledged within 1 hour of its issue"
            ],
        ),
        ("ROUTINE", timedelta(hours=24), []),
        (
            "ROUTINE",
            timedelta(hours=24, seconds=1),
            [
                "ack_by: must be no later than 2026-11-21T02:00:00.000Z: a ROUTINE request is "
                "acknowledged within 24 hours of its issue"
            ],
        ),
        (
            "IMMEDIATE",
            -timedelta(seconds=1),
            ["ack_by: is before the request is issued (2026-11-20T02:00:00.000Z)"],
        ),
        (
            "UNKNOWN",
            timedelta(minutes=5),
            ["priority: must be IMMEDIATE, URGENT or ROUTINE"],
        ),
    ],
)
def test_ack_by_deadlines_by_priority(
    priority: str, ack_after: timedelta, expected: list[str]
) -> None:
    """ack_by lies between the issue time and issue time + the agreement's deadline."""
    data = fixture(REQUEST)
    data["priority"] = priority
    data["ack_by"] = ISSUED + ack_after
    data["respond_by"] = ISSUED + timedelta(days=2)
    assert expected == issues_of("AssistanceRequest", data, now=ISSUED)


def test_deadlines_come_from_the_agreement() -> None:
    """An agreement with a 20-minute IMMEDIATE deadline accepts an ack_by 15 minutes out."""
    text = DEFAULT_AGREEMENT_PATH.read_text(encoding="utf-8").replace(
        "IMMEDIATE = 600", "IMMEDIATE = 1200"
    )
    data = changed(REQUEST, "ack_by", ISSUED + timedelta(minutes=15))
    record = validate_record("AssistanceRequest", data, parse_agreement(text), now=ISSUED)
    assert ISSUED + timedelta(minutes=15) == record["ack_by"]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            "respond_by",
            "2026-11-20T10:05:00+08:00",
            "respond_by: may not be before ack_by (2026-11-20T02:10:00.000Z)",
        ),
        ("target_agencies", [], "target_agencies: must name at least one agency"),
        (
            "target_agencies",
            ["370800000000", "320300000000"],
            "target_agencies: may not include the requesting agency 320300000000",
        ),
        (
            "target_agencies",
            ["370800000000", "370800000000"],
            "target_agencies: lists the same entry twice ([0] and [1])",
        ),
        (
            "target_agencies",
            ["370800000000", "360800000000"],
            "target_agencies[1]: is not an agency of the agreement",
        ),
        (
            "type",
            "OTHER",
            "type: must be LOCATE_PERSON, VERIFY_IDENTITY, VEHICLE_TRACE, RECORDS_CHECK, "
            "EVIDENCE_COLLECTION, WITNESS_INTERVIEW, ARREST_ASSISTANCE or JOINT_OPERATION",
        ),
        (
            "linked_alerts",
            ["not-a-uuid"],
            "linked_alerts[0]: must be a uuid such as 0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31",
        ),
        ("description", "", "description: may not be empty"),
    ],
)
def test_request_rules(path: str, value: Any, expected: str) -> None:
    """A request's targets, type, links and respond_by follow the rules of the contract."""
    assert [expected] == issues_of("AssistanceRequest", changed(REQUEST, path, value))


def test_agency_plate_prefixes_extend_the_authority_letters() -> None:
    """A plate prefix an agency of the agreement has is valid, even a letter the table lacks."""
    text = DEFAULT_AGREEMENT_PATH.read_text(encoding="utf-8").replace(
        'plate_prefix = "苏N"', 'plate_prefix = "苏Z"'
    )
    data = changed(VEHICLE, "plate.number", "苏Z12345")
    record = validate_record("VehicleAlert", data, parse_agreement(text), now=ISSUED)
    assert (
        "苏Z12345",
        ["plate.number: 苏Z is not a plate authority of 苏 (known: ABCDEFGHJKLMNU)"],
    ) == (
        record["plate"]["number"],
        issues_of("VehicleAlert", data),
    )


def test_unknown_event_type_is_an_issue_of_type() -> None:
    """validate_record of a type the contract lacks names the type."""
    expected = [
        Issue(
            "type",
            "must be one of PersonAlert, VehicleAlert, AlertStatusChange, AlertHit, "
            "HitConfirmation, AssistanceRequest, AssistanceResponse",
        )
    ]
    with pytest.raises(ValidationFailed) as failed:
        validate_record("PersonAlarm", fixture(PERSON), AGREEMENT)
    assert expected == list(failed.value.issues)


def test_data_that_is_not_an_object_is_one_issue() -> None:
    """A list where a record belongs is refused as a whole, with an empty path."""
    assert ["must be an object"] == issues_of("PersonAlert", [fixture(PERSON)])


def test_a_model_needs_the_agreement_in_its_context() -> None:
    """Validating without the agreement is a programming error, not an invalid event."""
    with pytest.raises(RuntimeError) as error:
        PersonAlert.model_validate(fixture(PERSON))
    assert "validate with context={'agreement': Agreement, 'now': datetime}" == str(error.value)


def test_record_form_is_accepted_back() -> None:
    """A record (datetimes, dates) validates to itself: the bridges hand records in."""
    record = validate_record("PersonAlert", fixture(PERSON_FULL), AGREEMENT, now=ISSUED)
    assert record == validate_record("PersonAlert", record, AGREEMENT, now=ISSUED)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_valid_records_validate_to_themselves(event_type: str, data: st.DataObject) -> None:
    """Every valid normalised record of every type is its own record form."""
    event = data.draw(events(event_type))
    actual = validate_record(event_type, event.record, AGREEMENT, now=event.envelope.created_at)
    assert event.record == actual


@settings(deadline=None)
@given(
    moment=timestamps(),
    offset_minutes=st.integers(-14 * 60, 14 * 60),
    microseconds=st.integers(0, 999),
)
def test_any_offset_gives_the_same_utc_time(
    moment: datetime, offset_minutes: int, microseconds: int
) -> None:
    """A time written in any offset (with extra microseconds) is the same UTC millisecond."""
    zone = timezone(timedelta(minutes=offset_minutes))
    written = (moment + timedelta(microseconds=microseconds)).astimezone(zone).isoformat()
    record = validate_record(
        "AlertStatusChange",
        changed("alert_status_change_jining.json", "changed_at", written),
        AGREEMENT,
    )
    assert moment == record["changed_at"]


def test_normalise_time_reads_times_as_the_models_do() -> None:
    """normalise_time (used by command-line options) gives the models' UTC millisecond."""
    expected = datetime(2026, 11, 20, 1, 15, 0, 123000, tzinfo=UTC)
    assert expected == normalise_time("2026-11-20T09:15:00.123999+08:00")
