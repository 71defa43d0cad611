"""GB/T 2260 admin codes of the agreement's cities, and WGS-84 coordinates inside China."""

from __future__ import annotations

import math

import pytest

from schemas import load_agreement
from schemas.models import tables_for
from schemas.rules import check_latitude, check_longitude, normalise_admin_code

PREFECTURES = tables_for(load_agreement()).prefectures


def test_prefectures_come_from_the_agreement() -> None:
    """The known prefectures are the first four digits of the ten agencies' admin codes."""
    expected = {"3203", "3207", "3213", "3704", "3708", "3713", "3717", "4114", "3406", "3413"}
    assert expected == set(PREFECTURES)


@pytest.mark.parametrize("code", ["320300", "370811", "341302", "411402", "340602", "371799"])
def test_codes_of_the_agreement_cities_are_accepted(code: str) -> None:
    """A city of the agreement, or any county under it, is a valid admin code."""
    assert code == normalise_admin_code(code, PREFECTURES)


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("37081", "must be 6 digits (GB/T 2260)"),
        ("3708111", "must be 6 digits (GB/T 2260)"),
        ("3708a1", "must be 6 digits (GB/T 2260)"),
        ("330100", "330100 is not in a province of the agreement (32, 34, 37, 41)"),
        ("110105", "110105 is not in a province of the agreement (32, 34, 37, 41)"),
        ("320100", "320100 is not in a city of the agreement (3203, 3207, 3213)"),
        ("410100", "410100 is not in a city of the agreement (4114)"),
    ],
)
def test_invalid_codes_name_the_rule(code: str, rule: str) -> None:
    """Each broken rule raises ValueError with the rule in plain words."""
    with pytest.raises(ValueError, match=r".*") as caught:
        normalise_admin_code(code, PREFECTURES)
    assert rule == str(caught.value)


@pytest.mark.parametrize(("lat", "lon"), [(35.414921, 116.587245), (3.8, 73.5), (53.6, 135.1)])
def test_points_in_china_are_accepted(lat: float, lon: float) -> None:
    """Coordinates inside China's extent, edges included, pass unchanged."""
    assert (lat, lon) == (check_latitude(lat), check_longitude(lon))


@pytest.mark.parametrize(
    ("lat", "rule"),
    [
        (90.5, "latitude must be between -90 and 90 degrees"),
        (-91.0, "latitude must be between -90 and 90 degrees"),
        (math.nan, "latitude must be between -90 and 90 degrees"),
        (
            0.0,
            "latitude is outside China (3.8…53.6 °N): WGS-84 decimal degrees expected; "
            "are latitude and longitude swapped?",
        ),
    ],
)
def test_bad_latitudes_name_the_rule(lat: float, rule: str) -> None:
    """Latitudes out of range or outside China are refused with the rule."""
    with pytest.raises(ValueError, match=r".*") as caught:
        check_latitude(lat)
    assert rule == str(caught.value)


@pytest.mark.parametrize(
    ("lon", "rule"),
    [
        (180.5, "longitude must be between -180 and 180 degrees"),
        (math.inf, "longitude must be between -180 and 180 degrees"),
        (
            35.4,
            "longitude is outside China (73.5…135.1 °E): WGS-84 decimal degrees expected; "
            "are latitude and longitude swapped?",
        ),
    ],
)
def test_bad_longitudes_name_the_rule(lon: float, rule: str) -> None:
    """Longitudes out of range or outside China are refused with the rule."""
    with pytest.raises(ValueError, match=r".*") as caught:
        check_longitude(lon)
    assert rule == str(caught.value)
