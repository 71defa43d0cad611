"""Chinese number plates (GA 36-2018), as the exchange writes them: ``苏C12345``.

A plate number is the province character, the authority letter (发牌机关代号) and a serial.
Separators people type (``苏C·12345``, spaces, hyphens) and full-width letters are removed
and lower-case letters upper-cased before the rules apply. The rules:

1. The first character is one of the 31 province characters (京 津 … 新).
2. The second is the authority letter: A–Z, never I or O (they read as 1 and 0).
3. The serial is one of these shapes (letters never I or O):
   - ordinary: 5 letters or digits (``鲁H7K3M9``);
   - small new-energy: 6, D or F first, then a letter or digit, then 4 digits (``苏CD12345``);
   - large new-energy: 6, five digits then D or F (``苏C12345D``);
   - special: 4 letters or digits then 警 (police), 学 (learner), 挂 (trailer), or 港 / 澳 /
     领 (Hong Kong / Macao vehicles, consulates; only with plate type OTHER).
4. The plate type and the serial agree: SMALL_NEW_ENERGY and LARGE_NEW_ENERGY need their
   6-character shape; POLICE, LEARNER and TRAILER need the 4 characters and 警, 学 or 挂;
   LARGE, SMALL and MOTORCYCLE need 5; OTHER takes any shape above.
5. For the provinces of the agreement the authority letter is one that province issues
   (its ``plate_letters`` in the agreement, plus every prefix an agency of the agreement
   has): ``苏Z`` is refused, ``苏A`` (Nanjing, not a party) is accepted. Plates of other
   provinces are accepted with any letter, since we keep no table of theirs. The
   agreement's plate characters count as province characters for rule 1 too.

Police plates are written here as the GA standard writes them for city police
(``苏C1234警``); the provincial ``O`` letter is not accepted (rule 2 comes first).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from typing import TypeVar

PROVINCE_CHARACTERS = frozenset("京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新")

#: Every letter an authority may have (rule 2): for a province that lists none.
ALL_AUTHORITY_LETTERS = frozenset("ABCDEFGHJKLMNPQRSTUVWXYZ")

_SEPARATORS = re.compile(r"[\s·•．.\-]")
_SERIAL_CHARACTER = re.compile(r"[A-HJ-NP-Z0-9]")
_ORDINARY = re.compile(r"[A-HJ-NP-Z0-9]{5}")
_SMALL_NEW_ENERGY = re.compile(r"[DF][A-HJ-NP-Z0-9][0-9]{4}")
_LARGE_NEW_ENERGY = re.compile(r"[0-9]{5}[DF]")
_SPECIAL = re.compile(r"[A-HJ-NP-Z0-9]{4}[警学挂港澳领]")
_SPECIAL_CHARACTERS = "警学挂港澳领"
_SPECIAL_SUFFIX = {"POLICE": "警", "LEARNER": "学", "TRAILER": "挂"}
_ORDINARY_TYPES = frozenset({"LARGE", "SMALL", "MOTORCYCLE"})

_T = TypeVar("_T")


def clean_plate_number(number: str) -> str:
    """The plate as the exchange writes it: no separators, half-width, upper case."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", number)).upper()


def normalise_plate_number(
    number: str, *, authority_letters: Mapping[str, Collection[str]] | None = None
) -> str:
    """The cleaned plate number if rules 1–3 hold, and rule 5 for the provinces of
    ``authority_letters`` (by plate character: the agreement's); ValueError naming the rule."""
    plate = clean_plate_number(number)
    if len(plate) < 3:
        raise ValueError(
            "must be a province character, an authority letter and a serial, e.g. 苏C12345"
        )
    province, letter, serial = plate[0], plate[1], plate[2:]
    known = authority_letters or {}
    if province not in PROVINCE_CHARACTERS and province not in known:
        raise ValueError(f"must start with a province character such as 苏, not {province!r}")
    if letter in "IO":
        raise ValueError("authority letter may not be I or O")
    if not "A" <= letter <= "Z":
        raise ValueError(f"second character must be the authority letter A–Z, not {letter!r}")
    _check_serial(plate, serial)
    letters = known.get(province)
    if letters is not None and letter not in letters:
        issued = "".join(sorted(letters))
        raise ValueError(f"{plate[:2]} is not a plate authority of {province} (known: {issued})")
    return plate


def check_plate_type(number: str, plate_type: str) -> None:
    """Rule 4 on a cleaned, syntactically valid plate; ValueError when type and serial disagree."""
    serial = number[2:]
    if plate_type == "SMALL_NEW_ENERGY":
        if not _SMALL_NEW_ENERGY.fullmatch(serial):
            raise ValueError(
                f"a SMALL_NEW_ENERGY plate has D or F, a letter or digit and 4 digits "
                f"after {number[:2]}, as in {number[:2]}D12345; {number} does not"
            )
    elif plate_type == "LARGE_NEW_ENERGY":
        if not _LARGE_NEW_ENERGY.fullmatch(serial):
            raise ValueError(
                f"a LARGE_NEW_ENERGY plate has 5 digits and D or F after {number[:2]}, "
                f"as in {number[:2]}12345D; {number} does not"
            )
    elif plate_type in _SPECIAL_SUFFIX:
        suffix = _SPECIAL_SUFFIX[plate_type]
        if not (_SPECIAL.fullmatch(serial) and serial.endswith(suffix)):
            raise ValueError(
                f"a {plate_type} plate has 4 letters or digits and {suffix} after "
                f"{number[:2]}, as in {number[:2]}1234{suffix}; {number} does not"
            )
    elif plate_type in _ORDINARY_TYPES and not _ORDINARY.fullmatch(serial):
        raise ValueError(
            f"a {plate_type} plate has 5 letters or digits after {number[:2]}; "
            f"{number} has a {_shape_name(serial)} serial"
        )


def normalise_plate(
    number: str,
    plate_type: str,
    *,
    authority_letters: Mapping[str, Collection[str]] | None = None,
) -> str:
    """Rules 1–5: the cleaned plate number, or ValueError naming the rule broken."""
    plate = normalise_plate_number(number, authority_letters=authority_letters)
    check_plate_type(plate, plate_type)
    return plate


def local_plate_agency(number: str, by_plate_prefix: Mapping[str, _T]) -> _T | None:
    """The agency whose plate prefix (``苏C``) the cleaned plate carries, if any."""
    return by_plate_prefix.get(number[:2])


def _check_serial(plate: str, serial: str) -> None:
    if (
        _ORDINARY.fullmatch(serial)
        or _SMALL_NEW_ENERGY.fullmatch(serial)
        or _LARGE_NEW_ENERGY.fullmatch(serial)
        or _SPECIAL.fullmatch(serial)
    ):
        return
    if "I" in serial or "O" in serial:
        raise ValueError("serial may not contain I or O (they read as 1 and 0)")
    body = serial[:-1] if serial[-1] in _SPECIAL_CHARACTERS else serial
    for character in body:
        if not _SERIAL_CHARACTER.fullmatch(character):
            raise ValueError(f"serial may hold only letters and digits, not {character!r}")
    if body is not serial:
        raise ValueError(
            f"a plate ending in {serial[-1]} has 4 letters or digits before it, "
            f"{plate} has {len(body)}"
        )
    if len(serial) == 6:
        raise ValueError(
            f"a 6-character serial is a new-energy plate: D or F, a letter or digit and "
            f"4 digits, or 5 digits and D or F; {plate} is neither"
        )
    raise ValueError(
        f"must have 5 characters after {plate[:2]} (6 for new-energy plates), "
        f"{plate} has {len(serial)}"
    )


def _shape_name(serial: str) -> str:
    if _SMALL_NEW_ENERGY.fullmatch(serial) or _LARGE_NEW_ENERGY.fullmatch(serial):
        return "new-energy"
    return f"{serial[-1]} (special)"
