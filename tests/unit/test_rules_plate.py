"""Chinese number plates: syntax, type agreement, the agreement provinces' authority letters."""

from __future__ import annotations

import pytest

from schemas import load_agreement
from schemas.models.types import tables_for
from schemas.rules import check_plate_type, local_plate_agency, normalise_plate

AGREEMENT = load_agreement()
#: The agreement provinces' authority letters by plate character (their ``plate_letters``).
LETTERS = tables_for(AGREEMENT).authority_letters


@pytest.mark.parametrize(
    ("number", "plate_type", "expected"),
    [
        ("鲁H7K3M9", "SMALL", "鲁H7K3M9"),  # the Shandong ICD's sample
        ("苏C12345", "LARGE", "苏C12345"),
        ("苏C·12345", "SMALL", "苏C12345"),  # the dot people write is removed
        ("苏C 12345", "MOTORCYCLE", "苏C12345"),
        ("苏c12a45", "SMALL", "苏C12A45"),  # lower case is upper-cased
        ("苏Ｃ１２３４５", "SMALL", "苏C12345"),  # full-width letters and digits
        ("苏CD12345", "SMALL_NEW_ENERGY", "苏CD12345"),
        ("苏CFA1234", "SMALL_NEW_ENERGY", "苏CFA1234"),
        ("苏C12345D", "LARGE_NEW_ENERGY", "苏C12345D"),
        ("苏C1234警", "POLICE", "苏C1234警"),
        ("苏C1234学", "LEARNER", "苏C1234学"),
        ("苏C1234挂", "TRAILER", "苏C1234挂"),
        ("粤Z1234港", "OTHER", "粤Z1234港"),
        ("苏CD12345", "OTHER", "苏CD12345"),
        ("苏A12345", "SMALL", "苏A12345"),  # Nanjing: Jiangsu, not a party, still valid
        ("京A12345", "SMALL", "京A12345"),  # other provinces: any letter but I and O
        ("新Z12345", "SMALL", "新Z12345"),
    ],
)
def test_valid_plates_normalise(number: str, plate_type: str, expected: str) -> None:
    """Valid plates come back cleaned: no separators, half-width, upper case."""
    assert expected == normalise_plate(number, plate_type, authority_letters=LETTERS)


@pytest.mark.parametrize(
    ("number", "plate_type", "rule"),
    [
        (
            "苏C",
            "SMALL",
            "must be a province character, an authority letter and a serial, e.g. 苏C12345",
        ),
        ("AC12345", "SMALL", "must start with a province character such as 苏, not 'A'"),
        ("苏O12345", "SMALL", "authority letter may not be I or O"),
        ("苏I12345", "SMALL", "authority letter may not be I or O"),
        ("苏112345", "SMALL", "second character must be the authority letter A–Z, not '1'"),
        ("苏C1I345", "SMALL", "serial may not contain I or O (they read as 1 and 0)"),
        ("苏CD1234O", "SMALL_NEW_ENERGY", "serial may not contain I or O (they read as 1 and 0)"),
        ("苏C12#45", "SMALL", "serial may hold only letters and digits, not '#'"),
        (
            "苏C1234",
            "SMALL",
            "must have 5 characters after 苏C (6 for new-energy plates), 苏C1234 has 4",
        ),
        (
            "苏C1234567",
            "SMALL",
            "must have 5 characters after 苏C (6 for new-energy plates), 苏C1234567 has 7",
        ),
        (
            "苏C123456",
            "SMALL",
            "a 6-character serial is a new-energy plate: D or F, a letter or digit and "
            "4 digits, or 5 digits and D or F; 苏C123456 is neither",
        ),
        (
            "苏C12345警",
            "POLICE",
            "a plate ending in 警 has 4 letters or digits before it, 苏C12345警 has 5",
        ),
        ("苏Z12345", "SMALL", "苏Z is not a plate authority of 苏 (known: ABCDEFGHJKLMNU)"),
        ("豫W12345", "SMALL", "豫W is not a plate authority of 豫 (known: ABCDEFGHJKLMNPQRSU)"),
        (
            "苏CD12345",
            "SMALL",
            "a SMALL plate has 5 letters or digits after 苏C; 苏CD12345 has a new-energy serial",
        ),
        (
            "苏C1234警",
            "LARGE",
            "a LARGE plate has 5 letters or digits after 苏C; 苏C1234警 has a 警 (special) serial",
        ),
        (
            "苏C12345",
            "SMALL_NEW_ENERGY",
            "a SMALL_NEW_ENERGY plate has D or F, a letter or digit and 4 digits after 苏C, "
            "as in 苏CD12345; 苏C12345 does not",
        ),
        (
            "苏CD12345",
            "LARGE_NEW_ENERGY",
            "a LARGE_NEW_ENERGY plate has 5 digits and D or F after 苏C, as in 苏C12345D; "
            "苏CD12345 does not",
        ),
        (
            "苏C1234学",
            "POLICE",
            "a POLICE plate has 4 letters or digits and 警 after 苏C, as in 苏C1234警; "
            "苏C1234学 does not",
        ),
        (
            "苏C12345",
            "TRAILER",
            "a TRAILER plate has 4 letters or digits and 挂 after 苏C, as in 苏C1234挂; "
            "苏C12345 does not",
        ),
    ],
)
def test_invalid_plates_name_the_rule(number: str, plate_type: str, rule: str) -> None:
    """Each broken rule raises ValueError with the rule in plain words."""
    with pytest.raises(ValueError, match=r".*") as caught:
        normalise_plate(number, plate_type, authority_letters=LETTERS)
    assert rule == str(caught.value)


def test_authority_letters_can_be_narrowed() -> None:
    """A caller's own table of authority letters replaces the agreement's."""
    with pytest.raises(ValueError, match=r".*") as caught:
        normalise_plate("苏A12345", "SMALL", authority_letters={"苏": {"C"}})
    assert "苏A is not a plate authority of 苏 (known: C)" == str(caught.value)


def test_the_agreements_plate_characters_and_letters_come_from_its_provinces() -> None:
    """Each province's plate character maps to its ``plate_letters`` and its agencies'
    prefix letters; a plate character of the agreement alone counts as rule 1's."""
    expected = {
        p.plate_character: frozenset(p.plate_letters)
        | {a.plate_prefix[1] for a in AGREEMENT.agencies_of(p.key)}
        for p in AGREEMENT.provinces.values()
    }
    fictional = normalise_plate("淮A12345", "SMALL", authority_letters={"淮": {"A"}})
    assert (expected, "淮A12345") == (LETTERS, fictional)


def test_other_plate_type_takes_any_shape() -> None:
    """Type OTHER agrees with every plate shape (ordinary, new-energy, special)."""
    shapes = ["苏C12345", "苏CD12345", "苏C12345F", "苏C1234警", "粤Z1234澳"]
    assert [None] * len(shapes) == [check_plate_type(s, "OTHER") for s in shapes]


@pytest.mark.parametrize(
    ("number", "city"),
    [("苏C12345", "Xuzhou"), ("鲁H7K3M9", "Jining"), ("皖L12345", "Suzhou"), ("苏A12345", None)],
)
def test_local_plates_name_their_agency(number: str, city: str | None) -> None:
    """A plate whose prefix is an agency's of the agreement is that agency's; others none."""
    agency = local_plate_agency(number, AGREEMENT.by_plate_prefix)
    assert city == (agency.city if agency else None)
