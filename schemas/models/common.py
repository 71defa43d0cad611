"""Enums and the named types the events share: Location, Contact, PhotoRef, Subject, Plate.

Enums are ``Literal`` types of the symbols a validating writer may send. Every enum of
the contract also has a default symbol (OTHER or UNKNOWN, ``ENUM_SYMBOLS`` lists them all)
for readers that meet a symbol they do not know. The edge accepts a default symbol only
where every province's ICD has a code for it, so that nothing accepted here is refused by
a bridge later (``bridge/profiles/codes.py``): Sex UNKNOWN (GB/T 2261.1 ``0``), PlateType
OTHER (``99``), BodyColour OTHER (``Z``) and HitSource OTHER (``QT``). Everywhere else
(categories, caution flags, actions, handling, alert kind and status, priority, results,
assistance type and status) the default symbol is refused: an alert category OTHER or a
priority UNKNOWN tells the receiving desk nothing it can act on.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from schemas.models.types import (
    Day,
    OptionalText,
    Text,
    Timestamp,
    absolute_uri,
    admin_code_of_region,
    alpha3,
    context_now,
    context_tables,
    sha256_hex,
)
from schemas.rules import (
    birth_date_of,
    check_latitude,
    check_longitude,
    check_plate_type,
    is_male,
    normalise_id_number,
    normalise_plate_number,
)

Sex = Literal["UNKNOWN", "MALE", "FEMALE", "UNSPECIFIED"]
PersonAlertCategory = Literal[
    "WANTED", "SUSPECT", "MISSING", "AT_RISK", "WITNESS", "DISCREET_CHECK"
]
VehicleAlertCategory = Literal[
    "STOLEN", "USED_IN_CRIME", "HIT_AND_RUN", "FUGITIVE_VEHICLE", "SURVEILLANCE"
]
CautionFlag = Literal["ARMED", "VIOLENT", "SELF_HARM", "ESCAPE_RISK", "MEDICAL"]
RequestedAction = Literal["LOCATE_AND_DETAIN", "LOCATE_AND_REPORT", "DISCREET_OBSERVE", "PROTECT"]
Handling = Literal["SHARE_ALL_PARTNERS", "NEED_TO_KNOW", "ORIGINATOR_CONTROL"]
PlateType = Literal[
    "LARGE",
    "SMALL",
    "MOTORCYCLE",
    "TRAILER",
    "LEARNER",
    "POLICE",
    "LARGE_NEW_ENERGY",
    "SMALL_NEW_ENERGY",
    "OTHER",
]
BodyColour = Literal[
    "WHITE", "GREY", "YELLOW", "PINK", "RED", "PURPLE", "GREEN", "BLUE", "BROWN", "BLACK", "OTHER"
]
AlertKind = Literal["PERSON", "VEHICLE"]
AlertStatus = Literal["WITHDRAWN", "RESOLVED", "EXPIRED"]
HitSource = Literal[
    "CHECKPOINT_CAMERA", "PATROL", "HOTEL_REGISTRATION", "TRANSPORT_TICKET", "OTHER"
]
Priority = Literal["IMMEDIATE", "URGENT", "ROUTINE"]
HitResult = Literal["CONFIRMED", "NOT_VALID", "NEED_MORE_INFO"]
AssistanceType = Literal[
    "LOCATE_PERSON",
    "VERIFY_IDENTITY",
    "VEHICLE_TRACE",
    "RECORDS_CHECK",
    "EVIDENCE_COLLECTION",
    "WITNESS_INTERVIEW",
    "ARREST_ASSISTANCE",
    "JOINT_OPERATION",
]
AssistanceStatus = Literal[
    "ACKNOWLEDGED", "ACCEPTED", "DECLINED", "IN_PROGRESS", "INFORMATION_PROVIDED", "COMPLETED"
]

#: Every symbol of each enum of the contract (docs/record-shapes.md), default symbol last.
ENUM_SYMBOLS: dict[str, tuple[str, ...]] = {
    "Sex": ("UNKNOWN", "MALE", "FEMALE", "UNSPECIFIED"),
    "PersonAlertCategory": (
        "WANTED",
        "SUSPECT",
        "MISSING",
        "AT_RISK",
        "WITNESS",
        "DISCREET_CHECK",
        "OTHER",
    ),
    "VehicleAlertCategory": (
        "STOLEN",
        "USED_IN_CRIME",
        "HIT_AND_RUN",
        "FUGITIVE_VEHICLE",
        "SURVEILLANCE",
        "OTHER",
    ),
    "CautionFlag": ("ARMED", "VIOLENT", "SELF_HARM", "ESCAPE_RISK", "MEDICAL", "OTHER"),
    "RequestedAction": (
        "LOCATE_AND_DETAIN",
        "LOCATE_AND_REPORT",
        "DISCREET_OBSERVE",
        "PROTECT",
        "OTHER",
    ),
    "Handling": ("SHARE_ALL_PARTNERS", "NEED_TO_KNOW", "ORIGINATOR_CONTROL", "OTHER"),
    "PlateType": get_args(PlateType),
    "BodyColour": get_args(BodyColour),
    "AlertKind": ("PERSON", "VEHICLE", "UNKNOWN"),
    "AlertStatus": ("WITHDRAWN", "RESOLVED", "EXPIRED", "OTHER"),
    "HitSource": get_args(HitSource),
    "Priority": ("IMMEDIATE", "URGENT", "ROUTINE", "UNKNOWN"),
    "HitResult": ("CONFIRMED", "NOT_VALID", "NEED_MORE_INFO", "OTHER"),
    "AssistanceType": (*get_args(AssistanceType), "OTHER"),
    "AssistanceStatus": (*get_args(AssistanceStatus), "OTHER"),
}


class ExchangeModel(BaseModel):
    """Base of every model: strict types, unknown fields refused, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    def to_record(self) -> dict[str, Any]:
        """The record form (docs/architecture.md): every key present, None or [] if absent."""
        return self.model_dump()


Latitude = Annotated[float, AfterValidator(check_latitude)]
Longitude = Annotated[float, AfterValidator(check_longitude)]
AdminCode = Annotated[str, AfterValidator(admin_code_of_region)]
Nationality = Annotated[str, AfterValidator(alpha3)]
Sha256 = Annotated[str, AfterValidator(sha256_hex)]
Uri = Annotated[str, AfterValidator(absolute_uri)]
HeightCm = Annotated[int, Field(ge=30, le=272)]


class Location(ExchangeModel):
    """A place: WGS-84 degrees, the GB/T 2260 code of its county or city, when seen there."""

    lat: Latitude
    lon: Longitude
    admin_code: AdminCode
    address: OptionalText = None
    observed_at: Timestamp | None = None


class Contact(ExchangeModel):
    """Who to call about an event."""

    unit: Text
    officer: OptionalText = None
    phone: OptionalText = None


class PhotoRef(ExchangeModel):
    """A photo the receiver fetches itself, and the digest it checks the bytes against."""

    uri: Uri
    sha256: Sha256


class Subject(ExchangeModel):
    """The person an alert is about.

    ``id_number`` is checked by GB 11643 and converted to 18 characters; when
    ``birth_date`` is given it must be the date the number holds, and a sex of MALE or
    FEMALE must agree with the number's sequence code (odd for men).
    """

    name: Text
    name_pinyin: OptionalText = None
    aliases: list[Text] = Field(default_factory=list)
    sex: Sex
    birth_date: Day | None = None
    id_number: OptionalText = None
    nationality: Nationality | None = None
    height_cm: HeightCm | None = None
    description: OptionalText = None
    photos: list[PhotoRef] = Field(default_factory=list)

    @field_validator("name_pinyin")
    @classmethod
    def _ascii_pinyin(cls, value: str | None) -> str | None:
        if value is not None and not value.isascii():
            raise ValueError(
                "must be ASCII (pinyin without tone marks): the Henan format carries ASCII only"
            )
        return value

    @field_validator("id_number")
    @classmethod
    def _valid_id_number(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        number = normalise_id_number(value, today=context_now(info).date())
        born = info.data.get("birth_date")
        if born is not None and born != birth_date_of(number):
            raise ValueError("holds another birth date than birth_date")
        sex = info.data.get("sex")
        if sex in ("MALE", "FEMALE") and (sex == "MALE") != is_male(number):
            held = "MALE" if is_male(number) else "FEMALE"
            raise ValueError(f"is the number of a {held} person (17th digit), but sex is {sex}")
        return number


class Plate(ExchangeModel):
    """A number plate: the number with its province character, and its GA 24.7 type."""

    number: str
    type: PlateType

    @field_validator("number")
    @classmethod
    def _valid_number(cls, value: str, info: ValidationInfo) -> str:
        letters = context_tables(info).authority_letters
        return normalise_plate_number(value, authority_letters=letters)

    @field_validator("type")
    @classmethod
    def _type_fits_number(cls, value: str, info: ValidationInfo) -> str:
        number = info.data.get("number")
        if number is not None:
            check_plate_type(number, value)
        return value
