"""Citizen identity numbers (公民身份号码), GB 11643-1999.

An 18-character number is: a 6-digit region code (GB/T 2260, where the number was first
issued), the birth date ``YYYYMMDD``, a 3-digit sequence (odd for men, even for women)
and a check character (ISO 7064 MOD 11-2) that is a digit or ``X``.

The rules, in the order they are checked:

1. 18 characters, or 15 digits (a first-generation number, see below).
2. The first 17 characters are digits; the last is a digit or ``X`` (``x`` becomes ``X``).
3. The region code's first two digits are a GB/T 2260 province (11…82), 83 (residence
   permits of Taiwan residents) or 91…96 (foreigners' permanent residence cards, 2023).
4. The birth date is a real date, not before 1900-01-01 and not after today.
5. The check character is the one ISO 7064 MOD 11-2 computes.

A 15-digit number (issued before 1999) holds ``YYMMDD`` of the 1900s and no check
character: it is converted by inserting ``19`` before the year and computing the check
character; if its date is not a real date it is an error, as for 18 characters.

Why a rule list this short: a region code whose county has since been renamed is still a
valid number (numbers are for life), so the region is only checked down to the province.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from operator import mul

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"
_EIGHTEEN = re.compile(r"\d{17}[\dX]", re.ASCII)
_FIFTEEN = re.compile(r"\d{15}", re.ASCII)
_SEVENTEEN_DIGITS = re.compile(r"\d{17}", re.ASCII)
_EARLIEST_BIRTH = date(1900, 1, 1)

#: First two digits of a region code that an identity number may start with.
PROVINCE_CODES: frozenset[str] = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63"}
    | {"64", "65", "71", "81", "82", "83", "91", "92", "93", "94", "95", "96"}
)


def check_character(first17: str) -> str:
    """The GB 11643 check character of 17 digits (ISO 7064 MOD 11-2)."""
    return _CHECK_CHARACTERS[sum(map(mul, map(int, first17), _WEIGHTS)) % 11]


def birth_date_of(id_number: str) -> date:
    """The birth date an 18-character identity number holds (no checks: validate first)."""
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def is_male(id_number: str) -> bool:
    """True when the sequence code (17th character) is odd, which GB 11643 gives to men."""
    return int(id_number[16]) % 2 == 1


def normalise_id_number(value: str, *, today: date | None = None) -> str:
    """The 18-character form of an identity number; ValueError naming the broken rule."""
    number = value.upper()
    if len(number) == 15:
        if not _FIFTEEN.fullmatch(number):
            raise ValueError("a 15-character (first-generation) number must be all digits")
        _check_region(number[:6])
        _check_birth_date(f"19{number[6:12]}", today)
        first17 = f"{number[:6]}19{number[6:]}"
        return first17 + check_character(first17)
    if len(number) != 18:
        raise ValueError(f"must have 18 characters (or 15 digits), has {len(number)}")
    if not _EIGHTEEN.fullmatch(number):
        if not _SEVENTEEN_DIGITS.fullmatch(number[:17]):
            raise ValueError("the first 17 characters must be digits")
        raise ValueError("the check character (18th) must be a digit or X")
    _check_region(number[:6])
    _check_birth_date(number[6:14], today)
    expected = check_character(number[:17])
    if number[17] != expected:
        raise ValueError("the check character (18th) does not match the first 17 (GB 11643)")
    return number


def make_identity_number(region: str, birth_date: date, sequence: int) -> str:
    """A valid 18-character number for synthetic test data (``sequence`` 0…999; odd: male)."""
    if not re.fullmatch(r"\d{6}", region, re.ASCII):
        raise ValueError(f"region code must be 6 digits, not {region!r}")
    if not 0 <= sequence <= 999:
        raise ValueError(f"sequence must be 0…999, not {sequence}")
    first17 = f"{region}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def _check_region(region: str) -> None:
    if region[:2] not in PROVINCE_CODES:
        raise ValueError(f"region code {region} does not start with a province code")


def _check_birth_date(yyyymmdd: str, today: date | None) -> None:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        raise ValueError("the birth date it holds is not a real date") from None
    if born < _EARLIEST_BIRTH:
        raise ValueError("the birth date it holds is before 1900")
    if born > (today or datetime.now(UTC).date()):  # the UTC day, never the host zone's
        raise ValueError("the birth date it holds is in the future")
