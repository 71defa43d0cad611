"""Where things are: GB/T 2260 administrative codes and WGS-84 coordinates.

Admin code rules:

1. Six digits: province (2), prefecture (2), county (2).
2. The province is a province of the agreement (32 Jiangsu, 37 Shandong, 41 Henan,
   34 Anhui).
3. The first four digits are a prefecture (city) of the agreement: the first four digits
   of an agency's admin code (``3708`` Jining). Any county under it is accepted
   (``370811``), and ``00`` names the city itself.

Coordinate rules:

1. Latitude within −90…90 and longitude within −180…180 degrees, finite.
2. Within China's extent, 3.8…53.6 °N and 73.5…135.1 °E.

Why rule 2 is a rule and not a warning: every location of the exchange carries an admin
code of one of the ten cities, so a point outside China contradicts its own admin code.
What such points are in practice is a mistake that would send officers nowhere: 0/0 left
as a default, latitude and longitude swapped, or projected metres instead of degrees.
(The offset of GCJ-02 or BD-09 coordinates is too small for any box to catch.)
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection

_SIX_DIGITS = re.compile(r"\d{6}", re.ASCII)
CHINA_LATITUDE = (3.8, 53.6)
CHINA_LONGITUDE = (73.5, 135.1)


def normalise_admin_code(code: str, known_prefectures: Collection[str]) -> str:
    """The admin code if rules 1–3 hold against ``known_prefectures`` (4-digit prefixes)."""
    if not _SIX_DIGITS.fullmatch(code):
        raise ValueError("must be 6 digits (GB/T 2260)")
    if code[:4] in known_prefectures:
        return code
    provinces = sorted({prefecture[:2] for prefecture in known_prefectures})
    if code[:2] not in provinces:
        raise ValueError(f"{code} is not in a province of the agreement ({', '.join(provinces)})")
    cities = ", ".join(p for p in sorted(known_prefectures) if p.startswith(code[:2]))
    raise ValueError(f"{code} is not in a city of the agreement ({cities})")


def check_latitude(value: float) -> float:
    """The latitude if it is a finite WGS-84 degree value inside China's extent."""
    if not math.isfinite(value) or not -90.0 <= value <= 90.0:
        raise ValueError("latitude must be between -90 and 90 degrees")
    south, north = CHINA_LATITUDE
    if not south <= value <= north:
        raise ValueError(
            f"latitude is outside China ({south}…{north} °N): "
            "WGS-84 decimal degrees expected; are latitude and longitude swapped?"
        )
    return value


def check_longitude(value: float) -> float:
    """The longitude if it is a finite WGS-84 degree value inside China's extent."""
    if not math.isfinite(value) or not -180.0 <= value <= 180.0:
        raise ValueError("longitude must be between -180 and 180 degrees")
    west, east = CHINA_LONGITUDE
    if not west <= value <= east:
        raise ValueError(
            f"longitude is outside China ({west}…{east} °E): "
            "WGS-84 decimal degrees expected; are latitude and longitude swapped?"
        )
    return value
