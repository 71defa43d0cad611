"""Coordinate systems of the local formats: WGS-84 (the exchange), GCJ-02 and BD-09.

The exchange speaks WGS-84. Jiangsu's system speaks GCJ-02, the offset system every
Chinese web map must use, and Anhui's speaks BD-09, Baidu's further offset of GCJ-02.
The forward formulas are the public ones (Krasovsky 1940 ellipsoid, a = 6378245 m,
e² = 0.00669342162296594323; Baidu's rotation and shift of 0.0065° / 0.006°), as in
eviltransform, PRCoords and coordtransform. There is no closed-form inverse, so the
inverses run a fixed-point iteration on the forward formula until the forward image of
the estimate is within ``TOLERANCE`` of the target: a round trip stays within a few
millimetres, far inside the six decimals (about 0.1 m) that the local formats keep.

Outside mainland China no offset applies: a point outside the rectangle ``CHINA_BOX``
(the one those libraries use) is the same in all three systems. Coordinates are
``LonLat(lon, lat)`` in decimal degrees, longitude first as in the local formats' keys.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

#: Krasovsky 1940 semi-major axis (metres) and first eccentricity squared, as GCJ-02 uses.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
#: Baidu's angular frequency (x_pi) and its fixed shift of BD-09 from GCJ-02, in degrees.
_BD_X_PI = math.pi * 3000.0 / 180.0
_BD_SHIFT_LON = 0.0065
_BD_SHIFT_LAT = 0.006
#: Mean Earth radius (IUGG), metres, for great-circle distances.
EARTH_RADIUS_M = 6371008.8
#: (west, south, east, north): where the offsets apply.
CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)
#: An inverse stops when the forward image is this close to the target, in degrees.
TOLERANCE = 1e-7
_MAX_ITERATIONS = 30


class LonLat(NamedTuple):
    """A point in decimal degrees: longitude first, as JD/WD and bd_lng/bd_lat are."""

    lon: float
    lat: float


def in_china(point: LonLat) -> bool:
    """True inside ``CHINA_BOX``, where GCJ-02 and BD-09 differ from WGS-84."""
    west, south, east, north = CHINA_BOX
    return west <= point.lon <= east and south <= point.lat <= north


def wgs84_to_gcj02(point: LonLat) -> LonLat:
    """The GCJ-02 coordinates of a WGS-84 point (unchanged outside China)."""
    if not in_china(point):
        return point
    x, y = point.lon - 105.0, point.lat - 35.0
    d_lat = _lat_shift_m(x, y)
    d_lon = _lon_shift_m(x, y)
    rad_lat = math.radians(point.lat)
    magic = 1.0 - _KRASOVSKY_EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (
        d_lat * 180.0 / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * math.pi)
    )
    d_lon = d_lon * 180.0 / (_KRASOVSKY_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return LonLat(point.lon + d_lon, point.lat + d_lat)


def gcj02_to_bd09(point: LonLat) -> LonLat:
    """The BD-09 coordinates of a GCJ-02 point (unchanged outside China)."""
    if not in_china(point):
        return point
    x, y = point.lon, point.lat
    z = math.hypot(x, y) + 0.00002 * math.sin(y * _BD_X_PI)
    theta = math.atan2(y, x) + 0.000003 * math.cos(x * _BD_X_PI)
    return LonLat(z * math.cos(theta) + _BD_SHIFT_LON, z * math.sin(theta) + _BD_SHIFT_LAT)


def wgs84_to_bd09(point: LonLat) -> LonLat:
    """The BD-09 coordinates of a WGS-84 point (unchanged outside China)."""
    if not in_china(point):
        return point
    return gcj02_to_bd09(wgs84_to_gcj02(point))


def gcj02_to_wgs84(point: LonLat) -> LonLat:
    """The WGS-84 point whose GCJ-02 image is ``point`` (iterated; see the module doc)."""
    return _inverse(wgs84_to_gcj02, point)


def bd09_to_gcj02(point: LonLat) -> LonLat:
    """The GCJ-02 point whose BD-09 image is ``point`` (iterated)."""
    return _inverse(gcj02_to_bd09, point)


def bd09_to_wgs84(point: LonLat) -> LonLat:
    """The WGS-84 point whose BD-09 image is ``point`` (iterated on the composite)."""
    return _inverse(wgs84_to_bd09, point)


def haversine_m(a: LonLat, b: LonLat) -> float:
    """Great-circle distance between two points, in metres (haversine, mean radius)."""
    lat_a, lat_b = math.radians(a.lat), math.radians(b.lat)
    half_d_lat = (lat_b - lat_a) / 2.0
    half_d_lon = math.radians(b.lon - a.lon) / 2.0
    h = math.sin(half_d_lat) ** 2 + math.cos(lat_a) * math.cos(lat_b) * math.sin(half_d_lon) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _inverse(forward: Callable[[LonLat], LonLat], target: LonLat) -> LonLat:
    """Solve ``forward(p) == target`` by fixed-point iteration, starting at the target.

    Each step moves the estimate by the error of its forward image. The offsets change
    slowly with position (a fraction of a percent per degree), so each step gains two to
    three orders of magnitude: three or four steps reach ``TOLERANCE``. Outside China the
    target is its own answer. Near the box's edge, where the offset stops abruptly, the
    iteration may not settle; it then returns its last estimate after a bounded number
    of steps (the exchange's region is hundreds of kilometres from that edge).
    """
    if not in_china(target):
        return target
    lon, lat = target
    for _ in range(_MAX_ITERATIONS):
        image = forward(LonLat(lon, lat))
        d_lon, d_lat = image.lon - target.lon, image.lat - target.lat
        lon, lat = lon - d_lon, lat - d_lat
        if abs(d_lon) < TOLERANCE and abs(d_lat) < TOLERANCE:
            break
    return LonLat(lon, lat)


def _lat_shift_m(x: float, y: float) -> float:
    shift = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    shift += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    shift += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    shift += (
        (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y / 30.0 * math.pi)) * 2.0 / 3.0
    )
    return shift


def _lon_shift_m(x: float, y: float) -> float:
    shift = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    shift += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    shift += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    shift += (
        (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    )
    return shift
