"""The Anhui profile (JSON, snake_case, icd/anhui.md): goldens, round trips, legacy quirks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hx_bridge_support import GOLDEN, emptied, golden_event, golden_local, non_empty
from hx_event_strategies import AGREEMENT, events
from hx_json_profile_support import aligned, round_trip, with_record, without_extensions
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.profiles import PROFILES, AnhuiProfile, get_profile
from schemas import EVENT_TYPES, ExchangeEvent
from schemas.errors import ConfigError, LocalFormatError, TranslationError
from schemas.models import ENUM_SYMBOLS

PROFILE = AnhuiProfile(AGREEMENT)
GOLDEN_NAMES = sorted(
    p.name.removesuffix(".exchange.json") for p in (GOLDEN / "anhui").glob("*.exchange.json")
)
#: What the ICD has no key for, by event type.
NOT_CARRIED = {
    "PersonAlert": ("share_with", "related_alerts"),
    "VehicleAlert": ("share_with", "related_alerts"),
    "AlertHit": ("location.observed_at",),
}
#: The alert_hit sample of icd/anhui.md exactly as printed there.
ICD_SAMPLE = """{"msg_id":"c1a0b3e2-7d44-4b8f-9e61-3f2a5d6c7b80","msg_type":"alert_hit",
 "sender":"340600000000","sent_at_ms":1763970000000,"correlation_id":null,
 "payload":{"hit_id":"5e8f2c1a-9b3d-4e7f-a062-1d4c8b9e2f35",
  "alert_id":"9d3c6b52-1f0e-4d2a-8e57-0a6f3b2c1d90","alert_kind":"vehicle",
  "reporting_agency":"340600000000","observed_at_ms":1763969400000,
  "location":{"bd_lng":116.805123,"bd_lat":33.966201,"region_code":"340602","address":null},
  "source":"checkpoint_camera","action_taken":"卡口抓拍，已通知巡逻", "details":null,
  "confirmation_requested":true,"priority":"immediate"}}"""


def golden_document(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(golden_local("anhui", name, ".json"))
    return loaded


def parse(document: dict[str, Any]) -> ExchangeEvent | str:
    """The event a local document holds, or its error's message."""
    content = json.dumps(document, ensure_ascii=False).encode("utf-8")
    [parsed] = PROFILE.from_local(content, "in.json")
    if parsed.event is not None:
        return parsed.event
    assert isinstance(parsed.error, LocalFormatError)
    return str(parsed.error)


def parsed_record(document: dict[str, Any]) -> dict[str, Any]:
    event = parse(document)
    assert isinstance(event, ExchangeEvent), event
    return event.record


def test_goldens_cover_every_event_type() -> None:
    """There is one golden pair per event type; AlertHit's is the ICD sample."""
    assert sorted(EVENT_TYPES) == GOLDEN_NAMES


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_golden_exchange_to_local(name: str) -> None:
    """Each exchange golden becomes its local golden byte for byte, nothing dropped."""
    message = PROFILE.to_local(golden_event("anhui", name))
    expected = (golden_local("anhui", name, ".json"), (), ())
    assert expected == (message.content, message.truncated, message.dropped)


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_golden_local_to_exchange(name: str) -> None:
    """Each local golden becomes its exchange golden: envelope and record."""
    assert golden_event("anhui", name) == parse(golden_document(name))


def test_icd_sample_as_printed_reads_as_the_golden() -> None:
    """The ICD's alert_hit sample, with its print line breaks, is the AlertHit golden."""
    [parsed] = PROFILE.from_local(ICD_SAMPLE.encode("utf-8"), "sample.json")
    assert golden_event("anhui", "AlertHit") == parsed.event


def test_file_name_media_type_and_registry() -> None:
    """A message is <msg_id>.json, sent as application/json; the registry knows it."""
    event = golden_event("anhui", "AlertHit")
    message = PROFILE.to_local(event)
    expected = (f"{event.envelope.message_id}.json", "application/json", AnhuiProfile)
    assert expected == (message.file_name, message.media_type, type(get_profile("anhui")))


@settings(max_examples=40, deadline=None)
@given(data=st.data(), event_type=st.sampled_from(EVENT_TYPES))
def test_round_trip_keeps_what_the_icd_carries(data: st.DataObject, event_type: str) -> None:
    """exchange → local → exchange keeps every carried field to the ms; the rest is `dropped`."""
    event = data.draw(events(event_type))
    not_carried = NOT_CARRIED.get(event_type, ())
    message, back = round_trip(PROFILE, event)
    expected = (
        without_extensions(event, keep_correlation=True).envelope,
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


@pytest.mark.parametrize(
    ("name", "key", "enum"),
    [
        ("PersonAlert", "category", "PersonAlertCategory"),
        ("PersonAlert", "action", "RequestedAction"),
        ("PersonAlert", "handling", "Handling"),
        ("AlertStatusChange", "alert_kind", "AlertKind"),
        ("AlertStatusChange", "status", "AlertStatus"),
        ("AlertHit", "source", "HitSource"),
        ("AlertHit", "priority", "Priority"),
        ("HitConfirmation", "result", "HitResult"),
        ("AssistanceRequest", "type", "AssistanceType"),
        ("AssistanceResponse", "status", "AssistanceStatus"),
    ],
)
def test_every_enum_symbol_travels_as_its_lowercase_name(name: str, key: str, enum: str) -> None:
    """Default symbols included: each symbol is written lowercase and read back as itself."""
    event = golden_event("anhui", name)
    field = {"action": "requested_action"}.get(key, key)
    written, read = [], []
    for symbol in ENUM_SYMBOLS[enum]:
        message = PROFILE.to_local(with_record(event, **{field: symbol}))
        written.append(json.loads(message.content)["payload"][key])
        read.append(parsed_record(json.loads(message.content))[field])
    expected = ([s.lower() for s in ENUM_SYMBOLS[enum]], list(ENUM_SYMBOLS[enum]))
    assert expected == (written, read)


def test_location_time_of_a_hit_is_dropped() -> None:
    """A hit location's observed_at has no key (the ICD sample's location has four)."""
    event = golden_event("anhui", "AlertHit")
    location = {
        **event.record["location"],
        "observed_at": datetime(2025, 11, 24, 7, 30, tzinfo=UTC),
    }
    message = PROFILE.to_local(with_record(event, location=location))
    expected = (("location.observed_at",), ["bd_lng", "bd_lat", "region_code", "address"])
    assert expected == (message.dropped, list(json.loads(message.content)["payload"]["location"]))


def test_alert_fields_without_a_key_are_dropped() -> None:
    """An alert's share_with and related_alerts are reported dropped, in record order."""
    event = with_record(
        golden_event("anhui", "PersonAlert"),
        handling="ORIGINATOR_CONTROL",
        share_with=["320300000000", "340600000000"],
        related_alerts=["9d3c6b52-1f0e-4d2a-8e57-0a6f3b2c1d90"],
    )
    assert ("share_with", "related_alerts") == PROFILE.to_local(event).dropped


def test_a_plate_without_its_province_character_cannot_be_split() -> None:
    """plate_province needs the plate's first character: a TranslationError names the field."""
    event = golden_event("anhui", "VehicleAlert")
    changed = with_record(event, plate={"number": "WJ12345", "type": "OTHER"})
    with pytest.raises(TranslationError) as raised:
        PROFILE.to_local(changed)
    assert "plate.number: does not start with a province character" == str(raised.value)


# -- the ICD's legacy quirks ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("id_no", "expected"),
    [
        ("341302850914001", "34130219850914001X"),  # first generation: 19 inserted, X computed
        ("34130219850914001x", "34130219850914001X"),  # lowercase check character
        ("34130219850914001X", "34130219850914001X"),
    ],
)
def test_legacy_identity_numbers_are_normalised(id_no: str, expected: str) -> None:
    """15-digit numbers become 18 characters; a lowercase x becomes X."""
    document = golden_document("PersonAlert")
    document["payload"]["id_no"] = id_no
    assert expected == parsed_record(document)["subject"]["id_number"]


def test_a_first_generation_number_with_an_impossible_date_is_refused() -> None:
    """A 15-digit number whose date is not real is a LocalFormatError naming payload.id_no."""
    document = golden_document("PersonAlert")
    document["payload"]["id_no"] = "341302851314001"
    assert "in.json: payload.id_no: the birth date it holds is not a real date" == parse(document)


@pytest.mark.parametrize(
    ("plate_province", "plate_no"),
    [("皖", "F5J8K2"), ("皖", "皖F5J8K2"), (None, "皖F5J8K2")],
)
def test_a_plate_number_is_joined_once(plate_province: str | None, plate_no: str) -> None:
    """A plate_no that already has its province character does not get a second one."""
    document = golden_document("VehicleAlert")
    document["payload"].update(plate_province=plate_province, plate_no=plate_no)
    assert "皖F5J8K2" == parsed_record(document)["plate"]["number"]


def test_a_plate_no_with_another_province_character_is_refused() -> None:
    """plate_no 鲁… with plate_province 皖 is a contradiction, named on plate_no."""
    document = golden_document("VehicleAlert")
    document["payload"].update(plate_province="皖", plate_no="鲁F5J8K2")
    expected = (
        "in.json: payload.plate_no: starts with a province character other than the one "
        "plate_province gives"
    )
    assert expected == parse(document)


@pytest.mark.parametrize("sent_at", [1763970000, 1763970000000])
def test_sent_at_in_seconds_is_read_as_seconds(sent_at: int) -> None:
    """A sent_at_ms below 10^11 is seconds from the old client: the same instant either way."""
    document = golden_document("AlertHit")
    document["sent_at_ms"] = sent_at
    event = parse(document)
    assert isinstance(event, ExchangeEvent)
    assert datetime(2025, 11, 24, 7, 40, tzinfo=UTC) == event.envelope.created_at


# -- what a local system must not send -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key", "value", "expected"),
    [
        (
            "PersonAlert",
            "category",
            "wantd",
            "payload.category: is not one of "
            "wanted, suspect, missing, at_risk, witness, discreet_check, other",
        ),
        (
            "PersonAlert",
            "category",
            "WANTED",
            "payload.category: is not one of "
            "wanted, suspect, missing, at_risk, witness, discreet_check, other",
        ),
        ("PersonAlert", "sex", "male", "payload.sex: not a code of this local format"),
        (
            "PersonAlert",
            "issued_at_ms",
            "1795568520123",
            "payload.issued_at_ms: must be whole epoch milliseconds",
        ),
        (
            "PersonAlert",
            "issued_at_ms",
            1795568520123.5,
            "payload.issued_at_ms: must be whole epoch milliseconds",
        ),
        (
            "PersonAlert",
            "birth_date",
            "19850914",
            "payload.birth_date: must be a date such as 1988-04-12",
        ),
        ("PersonAlert", "name", None, "payload.name: is required"),
        (
            "PersonAlert",
            "nick_name",
            "洋子",
            "payload.nick_name: is not a key of this message type",
        ),
        (
            "AlertHit",
            "confirmation_requested",
            "true",
            "payload.confirmation_requested: must be true or false",
        ),
        (
            "AlertHit",
            "location",
            {"bd_lng": 116.8, "region_code": "340602"},
            "payload.location.bd_lat: is required",
        ),
        ("VehicleAlert", "plate_no", None, "payload.plate_no: is required"),
    ],
)
def test_bad_payloads_name_the_key_and_the_rule(
    name: str, key: str, value: Any, expected: str
) -> None:
    """Each broken payload is one LocalFormatError naming its key path and the rule."""
    document = golden_document(name)
    document["payload"][key] = value
    assert f"in.json: {expected}" == parse(document)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "msg_type",
            "alert-hit",
            "msg_type: is not one of person_alert, "
            "vehicle_alert, alert_status, alert_hit, hit_confirmation, assistance_request, "
            "assistance_response",
        ),
        ("msg_id", "C1A0B3E2", "msg_id: must be a uuid"),
        ("sent_at_ms", None, "sent_at_ms: is required"),
        ("sent_at_ms", 10**20, f"sent_at_ms: {10**20} is out of the range of times"),
        ("correlation_id", 7, "correlation_id: must be a uuid"),
        ("sender", 340600000000, "sender: must be text"),
        ("signature", "x", "signature: is not a key of the Anhui envelope"),
    ],
)
def test_bad_envelopes_name_the_key_and_the_rule(key: str, value: Any, expected: str) -> None:
    """Each broken envelope is one LocalFormatError naming its key and the rule."""
    document = golden_document("AlertHit")
    document[key] = value
    assert f"in.json: {expected}" == parse(document)


def test_upper_case_ids_are_lowered_and_a_missing_correlation_id_is_none() -> None:
    """An upper-case msg_id is the same uuid; a message without correlation_id has none."""
    document = golden_document("HitConfirmation")
    document["msg_id"] = document["msg_id"].upper()
    del document["correlation_id"]
    event = parse(document)
    assert isinstance(event, ExchangeEvent)
    expected = ("6a798897-a6b5-4c4d-9e3f-2a1b0c9d8e7f", None)
    assert expected == (event.envelope.message_id, event.envelope.correlation_id)


def test_bytes_that_are_not_json_are_refused() -> None:
    """Text that is not JSON is a LocalFormatError with its line and column."""
    [parsed] = PROFILE.from_local(b'{"msg_id":\n nul}', "in.json")
    expected = (None, "in.json: line 2 column 2: not JSON: Expecting value")
    assert expected == (parsed.event, str(parsed.error))


def test_registry_names_are_the_profiles_own_names() -> None:
    """Every PROFILES entry is registered under its class's ``name`` (the agreement's format)."""
    assert {name: name for name in PROFILES} == {name: cls.name for name, cls in PROFILES.items()}


def test_an_unknown_profile_name_is_a_config_error() -> None:
    """get_profile names the profiles it knows when asked for another."""
    with pytest.raises(ConfigError) as raised:
        get_profile("zhejiang")
    known = ", ".join(sorted(PROFILES))
    expected = f"profile: no bridge profile called 'zhejiang' (known: {known}; or module:Class)"
    assert expected == str(raised.value)
