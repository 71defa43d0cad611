"""Hypothesis strategies for valid exchange events, in the record form (normalised).

Every value drawn obeys the domain rules against the repository's agreement, so
``validate_record(type, record) == record`` and the JSON form round-trips. Shared by the
models, JSON-form and codec property tests.
"""

from __future__ import annotations

import functools
import string
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from schemas import Envelope, ExchangeEvent, load_agreement
from schemas.models import ENUM_SYMBOLS
from schemas.models.types import tables_for
from schemas.rules import PROVINCE_CHARACTERS, make_identity_number, make_vin

AGREEMENT = load_agreement()
#: The agreement provinces' authority letters by plate character.
AUTHORITY_LETTERS = tables_for(AGREEMENT).authority_letters
AGENCY_IDS = tuple(a.id for a in AGREEMENT.agencies)
PREFECTURES = tuple(sorted({a.admin_code[:4] for a in AGREEMENT.agencies}))
SERIAL_CHARACTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
VIN_CHARACTERS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
#: Enums whose default symbol (listed last) the edge accepts: every ICD has a code for it.
DEFAULT_ACCEPTED = frozenset({"Sex", "PlateType", "BodyColour", "HitSource"})


def accepted(enum: str) -> st.SearchStrategy[str]:
    """The symbols of an enum the edge accepts (default symbol only where an ICD has a code)."""
    symbols = ENUM_SYMBOLS[enum]
    return st.sampled_from(symbols if enum in DEFAULT_ACCEPTED else symbols[:-1])


def uuids() -> st.SearchStrategy[str]:
    return st.uuids().filter(lambda u: u.int != 0).map(str)


def texts(max_size: int = 24) -> st.SearchStrategy[str]:
    """Non-blank text of any script (no lone surrogates: they are not UTF-8)."""
    # What the edge accepts (schemas/edge.py): no surrogates, no controls but tab, LF and
    # CR, no U+FFFE/U+FFFF.
    alphabet = st.characters(
        blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"
    ) | st.sampled_from("\t\n\r")
    return st.text(alphabet, min_size=1, max_size=max_size).filter(lambda s: s.strip() != "")


def optional_texts(max_size: int = 24) -> st.SearchStrategy[str | None]:
    return st.none() | texts(max_size)


def timestamps(
    min_value: datetime = datetime(2000, 1, 1), max_value: datetime = datetime(2099, 12, 31)
) -> st.SearchStrategy[datetime]:
    """UTC times with millisecond precision, as the record form holds them."""
    return st.datetimes(min_value=min_value, max_value=max_value, timezones=st.just(UTC)).map(
        lambda t: t.replace(microsecond=t.microsecond - t.microsecond % 1000)
    )


def agencies() -> st.SearchStrategy[str]:
    return st.sampled_from(AGENCY_IDS)


def admin_codes() -> st.SearchStrategy[str]:
    return st.builds(
        lambda prefecture, county: f"{prefecture}{county:02d}",
        st.sampled_from(PREFECTURES),
        st.integers(0, 99),
    )


@st.composite
def locations(draw: st.DrawFn, *, timed: bool = True) -> dict[str, Any]:
    return {
        "lat": draw(st.floats(3.8, 53.6)),
        "lon": draw(st.floats(73.5, 135.1)),
        "admin_code": draw(admin_codes()),
        "address": draw(optional_texts()),
        "observed_at": draw(st.none() | timestamps()) if timed else None,
    }


def contacts() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"unit": texts(), "officer": optional_texts(), "phone": optional_texts(15)}
    )


@st.composite
def plates(draw: st.DrawFn) -> dict[str, str]:
    """A plate of any type and any province, its serial in the shape the type needs."""
    plate_type = draw(st.sampled_from(ENUM_SYMBOLS["PlateType"]))
    province = draw(st.sampled_from(sorted(PROVINCE_CHARACTERS)))
    letters = sorted(AUTHORITY_LETTERS.get(province, "ABCDEFGHJKLMNPQRSTUVWXYZ"))
    letter = draw(st.sampled_from(letters))
    digits = st.text("0123456789", min_size=1, max_size=1)
    serial_character = st.sampled_from(SERIAL_CHARACTERS)

    def run(strategy: st.SearchStrategy[str], size: int) -> str:
        return "".join(draw(st.lists(strategy, min_size=size, max_size=size)))

    if plate_type == "SMALL_NEW_ENERGY":
        serial = draw(st.sampled_from("DF")) + draw(serial_character) + run(digits, 4)
    elif plate_type == "LARGE_NEW_ENERGY":
        serial = run(digits, 5) + draw(st.sampled_from("DF"))
    elif plate_type in ("POLICE", "LEARNER", "TRAILER"):
        suffix = {"POLICE": "警", "LEARNER": "学", "TRAILER": "挂"}[plate_type]
        serial = run(serial_character, 4) + suffix
    else:
        serial = run(serial_character, 5)
    return {"number": f"{province}{letter}{serial}", "type": plate_type}


@st.composite
def subjects(draw: st.DrawFn) -> dict[str, Any]:
    sex = draw(accepted("Sex"))
    born = draw(st.dates(date(1900, 1, 1), date(2020, 12, 31)))
    id_number = None
    if draw(st.booleans()):
        sequence = draw(st.integers(0, 999))
        if sex in ("MALE", "FEMALE"):
            sequence = sequence - sequence % 2 + (1 if sex == "MALE" else 0)
        region = draw(admin_codes())
        id_number = make_identity_number(region, born, sequence)
    return {
        "name": draw(texts()),
        "name_pinyin": draw(
            st.none()
            | st.text(string.ascii_letters + " ", min_size=1, max_size=24).filter(str.strip)
        ),
        "aliases": draw(st.lists(texts(), max_size=2)),
        "sex": sex,
        "birth_date": draw(st.sampled_from([born, None])),
        "id_number": id_number,
        "nationality": draw(st.none() | st.text(string.ascii_uppercase, min_size=3, max_size=3)),
        "height_cm": draw(st.none() | st.integers(30, 272)),
        "description": draw(optional_texts()),
        "photos": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "uri": uuids().map(lambda u: f"https://photos.example/{u}.jpg"),
                        "sha256": st.text("0123456789abcdef", min_size=64, max_size=64),
                    }
                ),
                max_size=2,
            )
        ),
    }


@st.composite
def _alert_common(draw: st.DrawFn) -> dict[str, Any]:
    """Fields both alerts share, consistent with each other (times, handling, share_with)."""
    issued_at = draw(timestamps(max_value=datetime(2090, 1, 1)))
    handling = draw(accepted("Handling"))
    share_with: list[str] = []
    if handling != "SHARE_ALL_PARTNERS":
        share_with = draw(st.lists(agencies(), min_size=1, max_size=4, unique=True))
    return {
        "alert_id": draw(uuids()),
        "revision": draw(st.integers(1, 9999)),  # four digits in the Henan ICD
        "case_ref": draw(optional_texts()),
        "caution_flags": draw(st.lists(accepted("CautionFlag"), max_size=3, unique=True)),
        "requested_action": draw(accepted("RequestedAction")),
        "issuing_agency": draw(agencies()),
        "issued_at": issued_at,
        "valid_until": issued_at
        + draw(st.timedeltas(timedelta(seconds=1), timedelta(days=3650)).map(_ms)),
        "handling": handling,
        "share_with": share_with,
        "legal_basis": draw(texts()),
        "contact": draw(st.none() | contacts()),
        "related_alerts": draw(st.lists(uuids(), max_size=2, unique=True)),
    }


def _ms(delta: timedelta) -> timedelta:
    return delta - timedelta(microseconds=delta.microseconds % 1000)


@st.composite
def person_alerts(draw: st.DrawFn) -> dict[str, Any]:
    common = draw(_alert_common())
    return {
        "alert_id": common["alert_id"],
        "revision": common["revision"],
        "category": draw(accepted("PersonAlertCategory")),
        "subject": draw(subjects()),
        "reason": draw(texts()),
        "case_ref": common["case_ref"],
        "caution_flags": common["caution_flags"],
        "requested_action": common["requested_action"],
        "last_known": draw(st.none() | locations()),
        **{k: common[k] for k in ("issuing_agency", "issued_at", "valid_until", "handling")},
        **{k: common[k] for k in ("share_with", "legal_basis", "contact", "related_alerts")},
    }


@st.composite
def vehicle_alerts(draw: st.DrawFn) -> dict[str, Any]:
    common = draw(_alert_common())
    vin_part = st.text(VIN_CHARACTERS, min_size=8, max_size=8)
    return {
        "alert_id": common["alert_id"],
        "revision": common["revision"],
        "category": draw(accepted("VehicleAlertCategory")),
        "plate": draw(plates()),
        "vin": draw(st.none() | st.builds(make_vin, vin_part, vin_part)),
        "make": draw(optional_texts()),
        "model": draw(optional_texts()),
        "body_colour": draw(st.none() | accepted("BodyColour")),
        "linked_person_alerts": draw(st.lists(uuids(), max_size=2, unique=True)),
        "last_seen": draw(st.none() | locations()),
        "reason": draw(optional_texts()),
        "case_ref": common["case_ref"],
        "caution_flags": common["caution_flags"],
        "requested_action": common["requested_action"],
        **{k: common[k] for k in ("issuing_agency", "issued_at", "valid_until", "handling")},
        **{k: common[k] for k in ("share_with", "legal_basis", "contact", "related_alerts")},
    }


def alert_status_changes() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "alert_id": uuids(),
            "alert_kind": accepted("AlertKind"),
            "status": accepted("AlertStatus"),
            "reason": optional_texts(),
            "changed_at": timestamps(),
            "agency": agencies(),
        }
    )


def alert_hits() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "hit_id": uuids(),
            "alert_id": uuids(),
            "alert_kind": accepted("AlertKind"),
            "reporting_agency": agencies(),
            "observed_at": timestamps(),
            "location": locations(),
            "source": accepted("HitSource"),
            "action_taken": optional_texts(),
            "details": optional_texts(),
            "confirmation_requested": st.booleans(),
            "priority": accepted("Priority"),
        }
    )


def hit_confirmations() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "hit_id": uuids(),
            "alert_id": uuids(),
            "result": accepted("HitResult"),
            "note": optional_texts(),
            "confirmed_at": timestamps(),
            "agency": agencies(),
        }
    )


@st.composite
def assistance_requests(draw: st.DrawFn, issued_at: datetime) -> dict[str, Any]:
    """A request issued at ``issued_at``: ack_by within the priority's deadline."""
    requester = draw(agencies())
    priority = draw(accepted("Priority"))
    deadline = timedelta(seconds=AGREEMENT.deadline_seconds(priority))
    ack_by = issued_at + _ms(draw(st.timedeltas(timedelta(0), deadline)))
    others = [a for a in AGENCY_IDS if a != requester]
    return {
        "request_id": draw(uuids()),
        "case_ref": draw(optional_texts()),
        "requesting_agency": requester,
        "target_agencies": draw(st.lists(st.sampled_from(others), min_size=1, unique=True)),
        "type": draw(accepted("AssistanceType")),
        "priority": priority,
        "ack_by": ack_by,
        "respond_by": ack_by + _ms(draw(st.timedeltas(timedelta(0), timedelta(days=30)))),
        "linked_alerts": draw(st.lists(uuids(), max_size=2, unique=True)),
        "description": draw(texts(200)),
        "legal_documents": draw(st.lists(texts(), max_size=2)),
        "contact": draw(st.none() | contacts()),
    }


def assistance_responses() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "response_id": uuids(),
            "request_id": uuids(),
            "responding_agency": agencies(),
            "status": accepted("AssistanceStatus"),
            "message": optional_texts(),
            "results": st.lists(texts(), max_size=2),
            "responded_at": timestamps(),
        }
    )


#: The field naming the agency that authors each event type (it is the envelope's source).
AUTHOR_FIELDS = {
    "PersonAlert": "issuing_agency",
    "VehicleAlert": "issuing_agency",
    "AlertStatusChange": "agency",
    "AlertHit": "reporting_agency",
    "HitConfirmation": "agency",
    "AssistanceRequest": "requesting_agency",
    "AssistanceResponse": "responding_agency",
}


def records(event_type: str, issued_at: datetime) -> st.SearchStrategy[dict[str, Any]]:
    """Valid records of one event type, for an event created at ``issued_at``."""
    if event_type == "AssistanceRequest":
        return assistance_requests(issued_at)
    return _static_records()[event_type]


@functools.cache
def _static_records() -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    """The strategies that do not depend on the issue time, built once (building and
    validating a strategy costs more than drawing from it)."""
    return {
        "PersonAlert": person_alerts(),
        "VehicleAlert": vehicle_alerts(),
        "AlertStatusChange": alert_status_changes(),
        "AlertHit": alert_hits(),
        "HitConfirmation": hit_confirmations(),
        "AssistanceResponse": assistance_responses(),
    }


@st.composite
def events(draw: st.DrawFn, event_type: str) -> ExchangeEvent:
    """A valid ExchangeEvent of one type: envelope consistent with its record."""
    # After every birth date subjects() draws: a birth date is never after the issue time.
    created_at = draw(timestamps(min_value=datetime(2021, 1, 1), max_value=datetime(2090, 1, 1)))
    record = draw(records(event_type, created_at))
    target = None
    if event_type == "AssistanceRequest":
        target = draw(st.sampled_from(record["target_agencies"]))
    elif event_type in ("AlertHit", "HitConfirmation", "AssistanceResponse"):
        target = draw(st.none() | agencies())
    envelope = Envelope(
        event_type=event_type,
        source=record[AUTHOR_FIELDS[event_type]],
        message_id=draw(uuids()),
        created_at=created_at,
        correlation_id=draw(st.none() | uuids()),
        causation_id=draw(st.none() | uuids()),
        traceparent=draw(
            st.none()
            | st.builds(
                lambda trace, parent, flags: f"00-{trace:032x}-{parent:016x}-{flags:02x}",
                st.integers(1, 2**128 - 1),
                st.integers(1, 2**64 - 1),
                st.integers(0, 255),
            )
        ),
        target=target,
    )
    return ExchangeEvent(envelope, record)
