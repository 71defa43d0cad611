"""VINs: 17 characters without I, O, Q, and the position-9 check digit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.rules import check_digit, make_vin, normalise_vin

VIN_CHARACTERS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


@pytest.mark.parametrize(
    ("vin", "expected"),
    [
        ("LSVAM4187C2184847", "LSVAM4187C2184847"),  # the Shandong ICD's sample
        ("lsvam4187c2184847", "LSVAM4187C2184847"),  # lower case is upper-cased
        ("1M8GDM9AXKP042788", "1M8GDM9AXKP042788"),  # check digit 10 is written X
    ],
)
def test_valid_vins_normalise(vin: str, expected: str) -> None:
    """Valid VINs come back upper-cased."""
    assert expected == normalise_vin(vin)


@pytest.mark.parametrize(
    ("vin", "rule"),
    [
        ("LSVAM4187C218484", "must have 17 characters, has 16"),
        ("LSVAM4187C21848470", "must have 17 characters, has 18"),
        ("LSVAM4187C218484O", "may not contain I, O or Q (they read as 1 and 0)"),
        ("LSVAM4187C2I84847", "may not contain I, O or Q (they read as 1 and 0)"),
        ("QSVAM4187C2184847", "may not contain I, O or Q (they read as 1 and 0)"),
        ("LSVAM4187C2-84847", "may hold only digits and letters, not '-'"),
        ("LSVAM4188C2184847", "check digit (position 9) is 8, expected 7"),
        ("1M8GDM9A1KP042788", "check digit (position 9) is 1, expected X"),
    ],
)
def test_invalid_vins_name_the_rule(vin: str, rule: str) -> None:
    """Each broken rule raises ValueError with the rule in plain words."""
    with pytest.raises(ValueError, match=r".*") as caught:
        normalise_vin(vin)
    assert rule == str(caught.value)


def test_check_digit_of_the_sample() -> None:
    """The ISO 3779 computation gives the sample's own check digit."""
    assert "7" == check_digit("LSVAM4187C2184847")


@pytest.mark.parametrize(
    ("prefix", "serial", "rule"),
    [
        ("LSVAM418", "C21848", "prefix and serial must have 8 characters each"),
        ("LSVAM41O", "C2184847", "LSVAM41O0C2184847 holds characters a VIN may not have"),
    ],
)
def test_make_vin_refuses_bad_parts(prefix: str, serial: str, rule: str) -> None:
    """The synthetic-data helper refuses parts that cannot make a VIN."""
    with pytest.raises(ValueError, match=r".*") as caught:
        make_vin(prefix, serial)
    assert rule == str(caught.value)


def test_make_vin_rebuilds_the_sample() -> None:
    """make_vin computes the same check digit the sample carries."""
    assert "LSVAM4187C2184847" == make_vin("LSVAM418", "C2184847")


@given(
    prefix=st.text(VIN_CHARACTERS, min_size=8, max_size=8),
    serial=st.text(VIN_CHARACTERS, min_size=8, max_size=8),
    position=st.sampled_from([0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16]),
    replacement=st.sampled_from(VIN_CHARACTERS),
)
def test_made_vins_are_valid_and_catch_single_changes(
    prefix: str, serial: str, position: int, replacement: str
) -> None:
    """A made VIN is valid; changing a digit at a weighted position changes its check digit."""
    vin = make_vin(prefix, serial)
    changed = vin[:position] + replacement + vin[position + 1 :]
    still_valid = check_digit(changed) == changed[8]
    # Transliteration maps several letters to one value: only then may a change go unseen.
    same_value = check_digit(vin) == check_digit(changed)
    assert (vin, same_value) == (normalise_vin(vin), still_valid)
