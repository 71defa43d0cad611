"""Vehicle identification numbers (ISO 3779; GB 16735 in China).

The rules:

1. 17 characters (lower case is upper-cased; spaces are not removed: a VIN has none).
2. Only ``0-9`` and ``A-Z`` without I, O and Q (they read as 1 and 0).
3. Position 9 is the check digit: each character is transliterated to a number
   (A=1 … H=8, J=1 … N=5, P=7, R=9, S=2 … Z=9; digits are themselves), multiplied by the
   position's weight (8 7 6 5 4 3 2 10 0 9 8 7 6 5 4 3 2), summed; the sum modulo 11 is the
   check digit, 10 written ``X``.

GB 16735 makes the check digit mandatory for every vehicle registered in China, so the
exchange checks it for every VIN (the North American rule, which Chinese VINs follow).
"""

from __future__ import annotations

import re
from operator import mul

_TRANSLITERATION: dict[str, int] = {str(d): d for d in range(10)} | {
    letter: value
    for letters, values in (
        ("ABCDEFGH", range(1, 9)),
        ("JKLMN", range(1, 6)),
        ("P", (7,)),
        ("R", (9,)),
        ("STUVWXYZ", range(2, 10)),
    )
    for letter, value in zip(letters, values, strict=True)
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN = re.compile(r"[0-9A-HJ-NPR-Z]{17}")


def check_digit(vin: str) -> str:
    """The position-9 check digit of 17 valid VIN characters (``X`` for 10)."""
    remainder = sum(map(mul, map(_TRANSLITERATION.__getitem__, vin), _WEIGHTS)) % 11
    return "X" if remainder == 10 else str(remainder)


def normalise_vin(value: str) -> str:
    """The upper-cased VIN if rules 1–3 hold; ValueError naming the rule broken."""
    vin = value.upper()
    if len(vin) != 17:
        raise ValueError(f"must have 17 characters, has {len(vin)}")
    if not _VIN.fullmatch(vin):
        bad = next(c for c in vin if c not in _TRANSLITERATION)
        if bad in "IOQ":
            raise ValueError("may not contain I, O or Q (they read as 1 and 0)")
        raise ValueError(f"may hold only digits and letters, not {bad!r}")
    expected = check_digit(vin)
    if vin[8] != expected:
        raise ValueError(f"check digit (position 9) is {vin[8]}, expected {expected}")
    return vin


def make_vin(prefix: str, serial: str = "C2000001") -> str:
    """A valid VIN for synthetic data: 8 characters, the check digit, 8 more (``serial``)."""
    head, tail = prefix.upper(), serial.upper()
    if len(head) != 8 or len(tail) != 8:
        raise ValueError("prefix and serial must have 8 characters each")
    candidate = f"{head}0{tail}"
    if not _VIN.fullmatch(candidate):
        raise ValueError(f"{candidate} holds characters a VIN may not have")
    return f"{head}{check_digit(candidate)}{tail}"
