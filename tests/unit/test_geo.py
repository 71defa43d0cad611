"""Coordinate systems (bridge.geo): WGS-84 ↔ GCJ-02 ↔ BD-09, their inverses, distances."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.geo import (
    LonLat,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    haversine_m,
    in_china,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

#: WGS-84 points of the region with their GCJ-02 and BD-09 images, to six decimals, as
#: computed by an independent implementation (PRCoords 1.0.2, public domain).
KNOWN = [
    (LonLat(119.457203, 34.596712), LonLat(119.462815, 34.595785), LonLat(119.469436, 34.601436)),
    (LonLat(117.186531, 34.261876), LonLat(117.192301, 34.260651), LonLat(117.198883, 34.266370)),
    (LonLat(116.587245, 35.414692), LonLat(116.592536, 35.414244), LonLat(116.599133, 35.419971)),
    (LonLat(116.963823, 33.646112), LonLat(116.969205, 33.644546), LonLat(116.975723, 33.650536)),
]
#: Points outside mainland China: every system is WGS-84 there.
ABROAD = [LonLat(139.691706, 35.689487), LonLat(2.352222, 48.856613), LonLat(-74.0060, 40.7128)]


def six(point: LonLat) -> tuple[float, float]:
    return round(point.lon, 6), round(point.lat, 6)


@pytest.mark.parametrize(("wgs", "gcj", "bd"), KNOWN)
def test_forward_formulas_match_an_independent_implementation(
    wgs: LonLat, gcj: LonLat, bd: LonLat
) -> None:
    """WGS-84 → GCJ-02 and WGS-84 → GCJ-02 → BD-09 agree with PRCoords to six decimals."""
    composed = gcj02_to_bd09(wgs84_to_gcj02(wgs))
    expected = (tuple(gcj), tuple(bd), tuple(bd))
    assert expected == (six(wgs84_to_gcj02(wgs)), six(wgs84_to_bd09(wgs)), six(composed))


@pytest.mark.parametrize(("wgs", "gcj", "bd"), KNOWN)
def test_inverses_find_the_original_point(wgs: LonLat, gcj: LonLat, bd: LonLat) -> None:
    """GCJ-02 → WGS-84 and BD-09 → WGS-84 give back the points above, BD-09 → GCJ-02 too.

    The six-decimal images were rounded, so BD-09 → GCJ-02 may differ in the last digit.
    """
    expected = (tuple(wgs), tuple(wgs), pytest.approx(tuple(gcj), abs=1.5e-6))
    assert expected == (six(gcj02_to_wgs84(gcj)), six(bd09_to_wgs84(bd)), bd09_to_gcj02(bd))


def test_anhui_icd_sample_location_in_wgs84() -> None:
    """The BD-09 point of the Anhui ICD's sample is WGS-84 116.793174, 33.961771 (PRCoords)."""
    assert (116.793174, 33.961771) == six(bd09_to_wgs84(LonLat(116.805123, 33.966201)))


region = st.builds(
    LonLat, st.floats(105.0, 125.0), st.floats(25.0, 42.0)
)  # the Huaihai zone (116–120 E, 33–36 N) and a wide margin around it
anywhere_in_china = st.builds(LonLat, st.floats(73.5, 135.1), st.floats(3.8, 53.6))


@settings(max_examples=300)
@given(point=region | anywhere_in_china)
def test_gcj02_round_trip_stays_within_a_metre(point: LonLat) -> None:
    """WGS-84 → GCJ-02 → WGS-84 comes back within 1 m, after an offset of tens of metres."""
    shifted = wgs84_to_gcj02(point)
    back = gcj02_to_wgs84(shifted)
    assert (True, True) == (haversine_m(point, shifted) > 10.0, haversine_m(point, back) < 1.0)


@settings(max_examples=300)
@given(point=region | anywhere_in_china)
def test_bd09_round_trip_stays_within_a_metre(point: LonLat) -> None:
    """WGS-84 → BD-09 → WGS-84 comes back within 1 m, after an offset of hundreds of metres."""
    shifted = wgs84_to_bd09(point)
    back = bd09_to_wgs84(shifted)
    assert (True, True) == (haversine_m(point, shifted) > 100.0, haversine_m(point, back) < 1.0)


@pytest.mark.parametrize("point", ABROAD)
def test_points_outside_china_are_unchanged(point: LonLat) -> None:
    """Tokyo, Paris, New York: no offset either way in either system."""
    conversions = (wgs84_to_gcj02, gcj02_to_wgs84, wgs84_to_bd09, bd09_to_wgs84, gcj02_to_bd09)
    assert [point] * len(conversions) == [convert(point) for convert in conversions]


@given(
    point=st.builds(LonLat, st.floats(-180.0, 180.0), st.floats(-90.0, 90.0)).filter(
        lambda p: not in_china(p)
    )
)
def test_any_point_outside_the_box_is_unchanged(point: LonLat) -> None:
    """Outside CHINA_BOX the three systems coincide."""
    assert (point, point) == (wgs84_to_gcj02(point), bd09_to_wgs84(point))


def test_haversine_of_one_degree_of_latitude() -> None:
    """One degree along a meridian is the mean radius × π/180 (111 195.08 m)."""
    expected = 6371008.8 * math.pi / 180
    assert expected == pytest.approx(haversine_m(LonLat(117.0, 34.0), LonLat(117.0, 35.0)))


def test_haversine_is_symmetric_and_zero_for_one_point() -> None:
    """d(a, b) = d(b, a) and d(a, a) = 0."""
    a, b = LonLat(117.186531, 34.261876), LonLat(116.963823, 33.646112)
    assert (haversine_m(a, b), 0.0) == (haversine_m(b, a), haversine_m(a, a))
