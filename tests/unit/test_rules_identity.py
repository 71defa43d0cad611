"""GB 11643 identity numbers: check character, birth date, region, legacy 15-digit numbers."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.rules import (
    birth_date_of,
    check_character,
    is_male,
    make_identity_number,
    normalise_id_number,
)

TODAY = date(2026, 11, 26)


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("320303198804120419", "320303198804120419"),  # the Jiangsu ICD's synthetic sample
        ("11010519491231002X", "11010519491231002X"),  # GB 11643's own example
        ("11010519491231002x", "11010519491231002X"),  # lower-case x is normalised
        ("110105491231002", "11010519491231002X"),  # 15 digits: 19 inserted, check computed
        ("320303880412041", "320303198804120419"),
        ("810000200001010014", "810000200001010014"),  # Hong Kong residence permit region
    ],
)
def test_valid_numbers_normalise(number: str, expected: str) -> None:
    """Valid numbers come back in their 18-character upper-case form."""
    assert expected == normalise_id_number(number, today=TODAY)


@pytest.mark.parametrize(
    ("number", "rule"),
    [
        ("32030319880412041", "must have 18 characters (or 15 digits), has 17"),
        ("3203031988041204199", "must have 18 characters (or 15 digits), has 19"),
        ("", "must have 18 characters (or 15 digits), has 0"),
        ("3203031988041204A9", "the first 17 characters must be digits"),
        ("32030319880412041Y", "the check character (18th) must be a digit or X"),
        ("320303198804120418", "the check character (18th) does not match the first 17 (GB 11643)"),
        ("320303198804120417", "the check character (18th) does not match the first 17 (GB 11643)"),
        ("000303198804120419", "region code 000303 does not start with a province code"),
        ("990303198804120419", "region code 990303 does not start with a province code"),
        ("320303198802300419", "the birth date it holds is not a real date"),
        ("320303198813010419", "the birth date it holds is not a real date"),
        ("320303189912310419", "the birth date it holds is before 1900"),
        ("320303202612010419", "the birth date it holds is in the future"),
        ("32030388041204X", "a 15-character (first-generation) number must be all digits"),
        ("320303880230041", "the birth date it holds is not a real date"),
        ("000303880412041", "region code 000303 does not start with a province code"),
    ],
)
def test_invalid_numbers_name_the_rule(number: str, rule: str) -> None:
    """Each broken rule raises ValueError with the rule in plain words."""
    with pytest.raises(ValueError, match=r".*") as caught:
        normalise_id_number(number, today=TODAY)
    assert rule == str(caught.value)


def test_birth_date_today_is_accepted() -> None:
    """A person born today already has a valid number (the future starts tomorrow)."""
    number = make_identity_number("320303", TODAY, 1)
    assert number == normalise_id_number(number, today=TODAY)


def test_number_fields_are_read() -> None:
    """Birth date and sex come out of the number (odd sequence: male)."""
    assert (date(1988, 4, 12), True) == (
        birth_date_of("320303198804120419"),
        is_male("320303198804120419"),
    )


def test_check_character_of_the_standard_example() -> None:
    """ISO 7064 MOD 11-2 of GB 11643's example gives X."""
    assert "X" == check_character("11010519491231002")


@pytest.mark.parametrize(
    ("region", "sequence", "rule"),
    [
        ("32030", 1, "region code must be 6 digits, not '32030'"),
        ("320303", 1000, "sequence must be 0…999, not 1000"),
        ("320303", -1, "sequence must be 0…999, not -1"),
    ],
)
def test_make_identity_number_refuses_bad_parts(region: str, sequence: int, rule: str) -> None:
    """The synthetic-data helper refuses parts that cannot make a number."""
    with pytest.raises(ValueError, match=r".*") as caught:
        make_identity_number(region, date(1990, 1, 1), sequence)
    assert rule == str(caught.value)


@given(
    region=st.sampled_from(["320303", "370811", "411402", "340602", "110105"]),
    born=st.dates(date(1900, 1, 1), TODAY),
    sequence=st.integers(0, 999),
)
def test_made_numbers_are_valid_and_hold_their_parts(
    region: str, born: date, sequence: int
) -> None:
    """make_identity_number gives valid numbers holding the birth date and sex asked for."""
    number = make_identity_number(region, born, sequence)
    assert (number, born, sequence % 2 == 1) == (
        normalise_id_number(number, today=TODAY),
        birth_date_of(number),
        is_male(number),
    )


@given(
    born=st.dates(date(1900, 1, 1), TODAY),
    sequence=st.integers(0, 999),
    wrong=st.sampled_from("0123456789X"),
)
def test_any_other_check_character_is_refused(born: date, sequence: int, wrong: str) -> None:
    """Changing the check character of a valid number always breaks it."""
    number = make_identity_number("320303", born, sequence)
    if wrong == number[17]:
        wrong = "0" if wrong == "X" else "X"
    with pytest.raises(ValueError, match=r".*") as caught:
        normalise_id_number(number[:17] + wrong, today=TODAY)
    assert "the check character (18th) does not match the first 17 (GB 11643)" == str(caught.value)


@given(born=st.dates(date(1900, 1, 1), date(1999, 12, 31)), sequence=st.integers(0, 999))
def test_fifteen_digit_numbers_convert_to_eighteen(born: date, sequence: int) -> None:
    """A first-generation number becomes the 18-character number of the same person."""
    eighteen = make_identity_number("320303", born, sequence)
    fifteen = eighteen[:6] + eighteen[8:17]
    assert eighteen == normalise_id_number(fifteen, today=TODAY)
