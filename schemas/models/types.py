"""Field types every model shares: ids, times, dates, text, agency references.

Each is an ``Annotated`` type whose validator is a small Python function with a plain-words
``ValueError`` (the rule a duty officer reads). Validators that need the agreement read
it from the validation context (``context={"agreement": ..., "now": ...}``, built by
``schemas.validation``); the look-up tables derived from it are built once per agreement.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, PlainValidator, ValidationInfo

from schemas.agreement import Agreement
from schemas.edge import TIME_MAX, TIME_MIN, TIME_RANGE_RULE
from schemas.envelope import utc_now_ms
from schemas.rules import ALL_AUTHORITY_LETTERS, normalise_admin_code

INT32_MAX = 2**31 - 1

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NIL_UUID = "00000000-0000-0000-0000-000000000000"
_TIMESTAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?", re.ASCII
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_ALPHA3 = re.compile(r"[A-Za-z]{3}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
_TIME_EXAMPLE = "an RFC 3339 time such as 2026-11-20T09:15:00+08:00"

_H = TypeVar("_H", bound=Hashable)


@dataclass(frozen=True, slots=True)
class AgreementTables:
    """What the validators look up in the agreement, as sets built once per agreement."""

    agreement: Agreement
    agencies: frozenset[str]
    prefectures: frozenset[str]
    authority_letters: dict[str, frozenset[str]]

    @classmethod
    def build(cls, agreement: Agreement) -> AgreementTables:
        letters = {
            p.plate_character: set(p.plate_letters or ALL_AUTHORITY_LETTERS)
            for p in agreement.provinces.values()
        }
        for agency in agreement.agencies:
            letters.setdefault(agency.plate_prefix[0], set()).add(agency.plate_prefix[1])
        return cls(
            agreement=agreement,
            agencies=frozenset(agreement.by_id),
            prefectures=frozenset(a.admin_code[:4] for a in agreement.agencies),
            authority_letters={char: frozenset(known) for char, known in letters.items()},
        )


_TABLES: dict[int, AgreementTables] = {}


def tables_for(agreement: Agreement) -> AgreementTables:
    """The look-up tables of ``agreement``, cached by identity (agreements are frozen)."""
    tables = _TABLES.get(id(agreement))
    if tables is None or tables.agreement is not agreement:
        if len(_TABLES) > 32:  # tests load many agreements; production holds one
            _TABLES.clear()
        tables = _TABLES[id(agreement)] = AgreementTables.build(agreement)
    return tables


def context_tables(info: ValidationInfo) -> AgreementTables:
    """The tables of the agreement in the validation context; a bug in the caller if absent.

    ``schemas.validation`` also puts the tables themselves in the context (``"tables"``),
    which saves the cache look-up in every validator of every event.
    """
    context = info.context
    if isinstance(context, dict):
        tables = context.get("tables")
        if isinstance(tables, AgreementTables):
            return tables
        agreement = context.get("agreement")
        if isinstance(agreement, Agreement):
            return tables_for(agreement)
    raise RuntimeError("validate with context={'agreement': Agreement, 'now': datetime}")


def context_now(info: ValidationInfo) -> datetime:
    """The issue time in the validation context (the envelope's created_at), else now."""
    now = info.context.get("now") if isinstance(info.context, dict) else None
    if isinstance(now, datetime):
        return now
    return utc_now_ms()


def normalise_uuid(value: str) -> str:
    """A uuid in its lowercase canonical form (8-4-4-4-12 hex digits)."""
    if not _UUID.fullmatch(value):
        raise ValueError("must be a uuid such as 0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31")
    lowered = value.lower()
    if lowered == _NIL_UUID:
        raise ValueError("may not be the nil uuid")
    return lowered


def parse_timestamp(value: Any) -> datetime:
    """An aware time in UTC truncated to milliseconds, from a datetime or RFC 3339 text."""
    moment: datetime
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        match = _TIMESTAMP.fullmatch(value)
        if match is None:
            raise ValueError(f"must be {_TIME_EXAMPLE}")
        day, clock, fraction, offset = match.groups()
        if offset is None:
            raise ValueError("needs a time zone offset, such as +08:00 or Z")
        offset = "+00:00" if offset in "Zz" else offset
        try:
            moment = datetime.fromisoformat(f"{day}T{clock}{(fraction or '')[:7]}{offset}")
        except ValueError:
            raise ValueError("is not a real time (month, day or hour out of range)") from None
    else:
        raise ValueError(f"must be {_TIME_EXAMPLE}")
    if moment.utcoffset() is None:
        raise ValueError("needs a time zone offset, such as +08:00 or Z")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(TIME_RANGE_RULE) from None
    if not TIME_MIN <= moment <= TIME_MAX:
        raise ValueError(TIME_RANGE_RULE)
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def parse_date(value: Any) -> date:
    """A calendar date, from a ``date`` or ``YYYY-MM-DD`` text (a time is refused)."""
    if isinstance(value, datetime):
        raise ValueError("must be a date YYYY-MM-DD, not a time")
    if isinstance(value, date):
        day = value
    elif isinstance(value, str) and _DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError("is not a real date (month or day out of range)") from None
    else:
        raise ValueError("must be a date YYYY-MM-DD")
    if not TIME_MIN.year <= day.year <= TIME_MAX.year:
        raise ValueError(TIME_RANGE_RULE)
    return day


def required_text(value: str) -> str:
    """Text that says something: blank is refused."""
    if not value.strip():
        raise ValueError("may not be empty")
    return value


def blank_to_none(value: Any) -> Any:
    """Optional text left blank means absent: ``""`` becomes None."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def alpha3(value: str) -> str:
    """An ISO 3166 alpha-3 country code, upper-cased (``CHN``)."""
    if not _ALPHA3.fullmatch(value):
        raise ValueError("must be an ISO 3166 alpha-3 country code such as CHN")
    return value.upper()


def sha256_hex(value: str) -> str:
    """A SHA-256 digest as 64 lowercase hex digits."""
    if not _SHA256.fullmatch(value):
        raise ValueError("must be a SHA-256 digest of 64 hex digits")
    return value.lower()


def absolute_uri(value: str) -> str:
    """An absolute URI (a scheme, then no spaces), where the receiver can fetch the photo."""
    if not _URI.fullmatch(value):
        raise ValueError("must be an absolute URI such as https://photos.example/1.jpg")
    return value


def known_agency(value: str, info: ValidationInfo) -> str:
    """An agency id that the agreement lists."""
    if value not in context_tables(info).agencies:
        raise ValueError("is not an agency of the agreement")
    return value


def admin_code_of_region(value: str, info: ValidationInfo) -> str:
    """A GB/T 2260 code inside one of the agreement's cities (see ``schemas.rules``)."""
    return normalise_admin_code(value, context_tables(info).prefectures)


def no_duplicates(values: Sequence[_H]) -> Sequence[_H]:
    """A list that names each entry once."""
    if len(set(values)) != len(values):
        seen: dict[_H, int] = {}
        for index, value in enumerate(values):
            if value in seen:
                raise ValueError(f"lists the same entry twice ([{seen[value]}] and [{index}])")
            seen[value] = index
    return values


Uuid = Annotated[str, AfterValidator(normalise_uuid)]
Timestamp = Annotated[datetime, PlainValidator(parse_timestamp)]
Day = Annotated[date, PlainValidator(parse_date)]
Text = Annotated[str, AfterValidator(required_text)]
OptionalText = Annotated[str | None, BeforeValidator(blank_to_none)]
AgencyRef = Annotated[str, AfterValidator(known_agency)]
#: The Henan ICD writes a revision in four digits: 9999 is the most every province carries.
REVISION_MAX = 9999
Revision = Annotated[int, Field(ge=1, le=REVISION_MAX)]
UuidList = Annotated[list[Uuid], AfterValidator(no_duplicates)]
AgencyList = Annotated[list[AgencyRef], AfterValidator(no_duplicates)]
