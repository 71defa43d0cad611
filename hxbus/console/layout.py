"""Where each agency sits on the region map: its city's position, or a place in its province.

The map is a schematic of the Huaihai zone, not a survey: the ten cities of the agreement
are placed by their longitude and latitude (rounded; enough to put Linyi east of Jining and
Suzhou south of Huaibei), scaled into a box 100 wide and ``MAP_HEIGHT`` high (a degree of
longitude is about 0.82 of one of latitude here). An agency added to the agreement whose
city is not listed here is put in a row beside its province's other cities, so a new
partner shows up without a code change, if not at its true place.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas import Agreement

#: Longitude, latitude of the agreement's cities (degrees, rounded to 0.1).
CITY_POSITIONS: dict[str, tuple[float, float]] = {
    "Xuzhou": (117.2, 34.3),
    "Lianyungang": (119.2, 34.6),
    "Suqian": (118.3, 33.9),
    "Zaozhuang": (117.3, 34.8),
    "Jining": (116.6, 35.4),
    "Linyi": (118.4, 35.1),
    "Heze": (115.5, 35.2),
    "Shangqiu": (115.6, 34.4),
    "Huaibei": (116.8, 33.9),
    "Suzhou": (117.0, 33.6),
}
_WEST, _EAST, _SOUTH, _NORTH = 115.0, 119.7, 33.3, 35.7
#: Height of the map box (its width is 100), keeping the region's proportions.
MAP_HEIGHT = 64


@dataclass(frozen=True, slots=True)
class Place:
    """One agency on the map: id, names, province key, x in 0–100, y in 0–MAP_HEIGHT
    (growing south)."""

    agency: str
    city: str
    city_zh: str
    province: str
    x: float
    y: float


def region_layout(agreement: Agreement) -> list[Place]:
    """Every agency of the agreement, placed."""
    places = []
    unplaced: dict[str, int] = {}
    for agency in agreement.agencies:
        known = CITY_POSITIONS.get(agency.city)
        if known is not None:
            lon, lat = known
            x = 5 + 90 * (lon - _WEST) / (_EAST - _WEST)
            y = 5 + (MAP_HEIGHT - 10) * (_NORTH - lat) / (_NORTH - _SOUTH)
        else:
            index = unplaced.get(agency.province, 0)
            unplaced[agency.province] = index + 1
            row = sorted(agreement.provinces).index(agency.province)
            x, y = 8 + 12 * index, 8 + 14 * row
        places.append(
            Place(agency.id, agency.city, agency.city_zh, agency.province, round(x, 1), round(y, 1))
        )
    return places
