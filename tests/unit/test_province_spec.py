"""The province spec of the agreement (``[provinces.XX]``, schemas/province.py): typed and
strict on load, the one place the bridge's outbox takes its province from, and what the
role ports, log masking and plate letters derive from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hx_bridge_support import golden_event
from hx_json_profile_support import with_record
from test_outbox import FakeProducer, message_id, status_line

from bridge.outbox import FileOutcome, OutboxPublisher
from bridge.profiles import AnhuiProfile, get_profile
from bridge.profiles.henan import HenanProfile
from hxbus.role_ports import role_ports
from producers import Publisher
from runtime import Settings
from schemas import DEFAULT_AGREEMENT_PATH, Agreement, parse_agreement
from schemas.audiences import AudienceBook, broadcast_audience
from schemas.errors import ConfigError
from schemas.models.types import tables_for
from schemas.rules import normalise_plate

#: The alert withdrawn in the outbox tests (as in test_outbox).
ALERT_ID = "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31"
HUAIYUAN = "900100000000"
SHANGQIU = "411400000000"
#: A fifth province whose bureaus speak Henan's fixed-width format (the profile reused).
FIFTH = """
[provinces.HH]
name = "Huaihe"
name_zh = "淮河"
gb_code = "90"
plate_character = "淮"
plate_letters = "AB"
profile = "henan"
personal_data_keys = ["XINGMING"]
metrics_port = 9415

[[agencies]]
id = "900100000000"
city = "Huaiyuan"
city_zh = "淮源"
province = "HH"
admin_code = "900100"
plate_prefix = "淮A"
"""


def agreement_text(extra: str = "") -> str:
    return DEFAULT_AGREEMENT_PATH.read_text(encoding="utf-8") + extra


def refusal(text: str) -> str:
    with pytest.raises(ConfigError) as refused:
        parse_agreement(text, origin="a.toml")
    return str(refused.value)


def test_the_old_name_format_is_read_as_profile_and_both_are_refused() -> None:
    """An agreement written before the rename loads; one naming both is refused, saying
    which to keep."""
    old = agreement_text().replace('profile = "henan"', 'format = "henan"')
    both = agreement_text().replace('profile = "henan"', 'profile = "henan"\nformat = "henan"')
    assert "henan" == parse_agreement(old).provinces["HA"].profile
    assert refusal(both) == (
        "a.toml: provinces.HA: Value error, format and profile both given: format is the "
        "old name of profile; keep profile only"
    )


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (
            ("[provinces.JS]", "[provinces.Js]"),
            "provinces.Js.[key]: Value error, 'Js' is not a province key: two capital "
            "letters, such as JS",
        ),
        (
            ('profile = "anhui"', 'profile = "anhui profile"'),
            "provinces.AH.profile: Value error, 'anhui profile' names no profile: give a "
            "built-in profile's name (jiangsu) or module:Class of one outside hxbus",
        ),
        (
            ("metrics_port = 9414", "metrics_port = 9411"),
            "Value error, metrics ports: each must be unique, 9411 repeated",
        ),
        (
            ('plate_character = "皖"', 'plate_character = "苏"'),
            "Value error, provinces.*.plate_character: each must be unique, 苏 repeated",
        ),
        (
            ('plate_letters = "ABCDEFGHJKLMNU"', 'plate_letters = "ABCI"'),
            "provinces.JS.plate_letters: Value error, 'ABCI': authority letters are capital "
            "letters A–Z but I and O, as in ABC",
        ),
    ],
)
def test_a_bad_province_spec_names_the_field_and_the_rule(
    change: tuple[str, str], rule: str
) -> None:
    """Each broken rule of a province is a ConfigError naming the field and the rule."""
    text = agreement_text().replace(*change, 1)
    assert rule in refusal(text)


def test_province_key_takes_the_key_only_and_names_the_field() -> None:
    """A key is returned typed; a name or profile is refused with the key it meant, and
    an unknown one with the keys there are."""
    agreement = parse_agreement(agreement_text())
    with pytest.raises(ConfigError) as named:
        agreement.province_key("Shandong", "--province")
    with pytest.raises(ConfigError) as unknown:
        agreement.agencies_of("ZJ")
    rule = (
        "{}: {!r} is not a province key of the agreement; a key is the two capital letters "
        "of a [provinces.XX] table, one of AH, HA, JS, SD"
    )
    assert (
        "SD",
        rule.format("--province", "Shandong") + " ('Shandong' is province SD: give its key)",
        rule.format("province", "ZJ"),
    ) == (agreement.province_key("SD"), str(named.value), str(unknown.value))


def test_a_fifth_province_is_derived_everywhere_from_its_spec() -> None:
    """Role ports, personal-data keys, the provinces of a profile and the plate letters of
    a fifth province come from its table alone."""
    agreement = parse_agreement(agreement_text(FIFTH))
    bridges = [(r.name, r.port) for r in role_ports(agreement) if r.kind == "bridge"]
    assert (
        [
            ("bridge JS", 9411),
            ("bridge SD", 9412),
            ("bridge HA", 9413),
            ("bridge AH", 9414),
            ("bridge HH", 9415),
        ],
        True,
        ("HA", "HH"),
        "淮B12345",
    ) == (
        bridges,
        "XINGMING" in agreement.personal_data_keys,
        agreement.provinces_with_profile("henan"),
        _vehicle_plate(agreement, "淮B12345"),
    )


def _vehicle_plate(agreement: Agreement, number: str) -> str:

    return normalise_plate(
        number, "SMALL", authority_letters=tables_for(agreement).authority_letters
    )


def test_a_province_without_a_metrics_port_is_named_where_ports_are_needed() -> None:
    """The agreement loads without a bridge metrics port; the role list names the field."""
    agreement = parse_agreement(agreement_text(FIFTH.replace("metrics_port = 9415\n", "")))
    with pytest.raises(ConfigError) as missing:
        role_ports(agreement)
    assert str(missing.value).startswith("provinces.HH.metrics_port: missing;")


def _outbox(tmp_path: Path, agreement: Agreement, province: str) -> OutboxPublisher:
    audiences = AudienceBook([broadcast_audience(ALERT_ID, "PERSON", HUAIYUAN, 1)])
    publisher = Publisher(Settings(), agreement, producer=FakeProducer(), audiences=audiences)
    profile = get_profile("henan", agreement)
    return OutboxPublisher(tmp_path / province, profile, publisher, agreement, province=province)


def test_a_fifth_province_reusing_a_profile_publishes_its_own_agencies_events(
    tmp_path: Path,
) -> None:
    """The outbox knows its province from the spec, not from the profile's name: the fifth
    province's outbox publishes its agency's withdrawal; Henan's, same profile, refuses it."""
    agreement = parse_agreement(agreement_text(FIFTH))
    line = status_line(message_id(1), agency=HUAIYUAN, source=HUAIYUAN)
    outcomes = []
    for province in ("HH", "HA"):
        outbox = _outbox(tmp_path, agreement, province)
        (outbox.outbox / "status.dat").write_bytes(line)
        outbox.scan()
        outcomes += [r.outcome for r in outbox.scan()]
    assert [FileOutcome.SENT, FileOutcome.REJECTED] == outcomes


def test_anhui_splits_the_plate_of_a_fifth_province() -> None:
    """Anhui's plate_province/plate_no split takes any province character, a new
    province's too (which characters count is the plate rule's, with the agreement)."""
    event = with_record(
        golden_event("anhui", "VehicleAlert"), plate={"number": "淮A12345", "type": "SMALL"}
    )
    profile = AnhuiProfile(parse_agreement(agreement_text(FIFTH)))
    local = json.loads(profile.to_local(event).content)["payload"]
    (parsed,) = profile.from_local(profile.to_local(event).content, "alert.json")
    assert parsed.event is not None
    assert (("淮", "A12345"), "淮A12345") == (
        (local["plate_province"], local["plate_no"]),
        parsed.event.record["plate"]["number"],
    )


def test_henans_home_agencies_are_those_of_every_province_speaking_its_format() -> None:
    """The profile puts first the agencies of the provinces whose profile it is (from the
    spec), not of a province named like it."""
    agreement = parse_agreement(agreement_text(FIFTH))
    assert frozenset({SHANGQIU, HUAIYUAN}) == HenanProfile(agreement)._home_agencies
