"""Every hostile input found (issue 15, and by the fuzzer since) with its expected refusal.

Each sample in ``tests/fuzz/regressions/`` is named for what it is. The first word names
the way in: a province's outbox format (``shandong-``, ``henan-``, ``jiangsu-``,
``anhui-``), the JSON form (``json-form-``), the Avro decoder (``avro-``) or a valid
event that a province must render and read back (``inbound-<province>-``). Every case
runs under two time zones: nothing hxbus reads may depend on the host's ``TZ``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from fuzz_outcomes import outcomes

from hxbus.cli import main
from schemas import load_agreement

SAMPLES = Path(__file__).parent / "regressions"
TARGETS = {
    "shandong": "outbound-shandong",
    "henan": "outbound-henan",
    "jiangsu": "outbound-jiangsu",
    "anhui": "outbound-anhui",
    "json": "json-form",
    "avro": "avro-decode",
}
TIME_ZONES = ("UTC", "America/New_York")
RANGE = "must lie between the years 1900 and 2100"
CONTROL = "which the partners' formats cannot carry (only tab, line feed and carriage return"
SURROGATE = "holds an unpaired surrogate, which UTF-8 and GB18030 cannot carry"
UUID = "must be a uuid such as 0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31"
MIXED = "inside a value is not allowed (the value would be read cut)"
INT32 = "revision: is outside the 32-bit int range -2147483648 to 2147483647"

#: Sample -> the refusal of each refused line (line: text it contains); other lines pass.
REFUSED: dict[str, dict[int, str]] = {
    "shandong-comment-in-valid-until.xml": {1: f"line 44: ValidUntil: a comment {MIXED}"},
    "shandong-comment-in-message-id.xml": {1: f"line 4: MessageId: a comment {MIXED}"},
    "shandong-pi-in-reason.xml": {1: f"line 30: Reason: a processing instruction {MIXED}"},
    "shandong-year-0001.xml": {1: f"line 7: SentAt: {RANGE}"},
    "shandong-non-uuid-correlation.xml": {1: f"correlationid: {UUID}"},
    "henan-year-0001-between-good-lines.dat": {2: f"line 2: sent_at: {RANGE}"},
    "henan-non-uuid-message-id.dat": {1: f"id: {UUID}"},
    "henan-empty-message-id.dat": {1: "line 1: message_id: required, but blank"},
    "jiangsu-4301-digit-revision.json": {1: "SJ.BBH: must be a whole number"},
    "jiangsu-lone-surrogate-message-id.json": {1: "XXBH: must be a uuid"},
    "jiangsu-lone-surrogate-alert-id.json": {1: f"data.alert_id: {SURROGATE}"},
    "jiangsu-nul-in-name.json": {
        1: f"data.subject.name: holds the control character U+0000, {CONTROL}"
    },
    "jiangsu-backspace-in-legal-basis.json": {
        1: f"data.legal_basis: holds the control character U+0008, {CONTROL}"
    },
    "jiangsu-year-0001.json": {1: f"FSSJ: {RANGE}"},
    "anhui-4301-digit-revision.json": {1: "payload.revision: must be a whole number"},
    "anhui-lone-surrogate-message-id.json": {1: "msg_id: must be a uuid"},
    "anhui-sent-before-2000.json": {
        1: "time: a message's creation time must lie between the years 2000 and 2100"
    },
    "json-form-4301-digit-revision.json": {
        1: "data.revision: is a whole number of 4301 digits, beyond the 64-bit range"
    },
    "json-form-lone-surrogate-alert-id.json": {1: f"data.alert_id: {SURROGATE}"},
    "json-form-nul-in-name.json": {1: "data.subject.name: holds the control character U+0000"},
    "json-form-backspace-in-legal-basis.json": {
        1: f"data.legal_basis: holds the control character U+0008, {CONTROL}"
    },
    "json-form-infinity-latitude.json": {1: "data.location.lat: must be a finite number"},
    "json-form-non-uuid-id.json": {1: f"id: {UUID}"},
    "json-form-revision-10000.json": {1: "data.revision: must be at most 9999"},
    "json-form-pinyin-tone-marks.json": {
        1: "data.subject.name_pinyin: must be ASCII (pinyin without tone marks)"
    },
    "json-form-valid-until-half-second.json": {
        1: "data.valid_until: must be after issued_at (2026-11-20T01:15:00.000Z), "
        "by one second at least"
    },
    "json-form-year-0001.json": {1: f"data.valid_until: {RANGE}"},
    "avro-revision-beyond-32-bits.bin": {1: INT32},
    "avro-revision-2-to-the-31.bin": {1: INT32},
    "shandong-cdata-split-reason.xml": {},
    "shandong-comment-before-the-body-element.xml": {},  # found by scripts/fuzz: a crash
    # found by scripts/fuzz: lon 73.5 came back from BD-09 as 73.499999, outside China
    "inbound-anhui-longitude-on-the-edge-of-china.json": {},
    "shandong-valid-until-local-offset.xml": {},
}


@pytest.fixture(params=TIME_ZONES, autouse=True)
def host_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The host's time zone for this case (both zones run every case)."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """main() points structlog at this test's captured stderr; later tests must not log there."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def _target(name: str) -> str:
    way, rest = name.split("-", 1)
    if way == "inbound":  # inbound-<province>-…: a valid event, rendered and read back
        return f"inbound-{rest.split('-')[0]}"
    return TARGETS[way]


def test_every_sample_has_an_expectation() -> None:
    """Each file in regressions/ is listed here, and each listed file exists."""
    assert sorted(REFUSED) == sorted(p.name for p in SAMPLES.iterdir())


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_each_sample_is_refused_with_its_reason_and_the_rest_kept(name: str) -> None:
    """The bad units are refused naming field and rule; every other unit is accepted."""
    found = outcomes(_target(name), (SAMPLES / name).read_bytes())
    refused = {o.line: o.refusal for o in found if o.refusal is not None}
    expected = REFUSED[name]
    kept = sorted(o.line for o in found if o.refusal is None)
    assert (sorted(expected), [True] * len(expected)) == (
        sorted(refused),
        [expected[line] in str(refused.get(line)) for line in sorted(expected)],
    )
    assert kept == sorted({o.line for o in found} - set(expected))


def test_a_shandong_time_is_read_at_plus_eight_whatever_the_host_zone() -> None:
    """ValidUntil 09:15+08:00 is 01:15Z under every TZ (the ICD's offset, never the host's)."""
    (only,) = outcomes(
        "outbound-shandong", (SAMPLES / "shandong-valid-until-local-offset.xml").read_bytes()
    )
    data = only.rendered()["data"]
    assert ("2027-05-20T01:15:00.000Z", "2026-11-20T01:15:00.000Z") == (
        data["valid_until"],
        data["issued_at"],
    )


def test_a_cdata_section_is_read_as_part_of_the_whole_value() -> None:
    """``涉嫌<![CDATA[抢]]>劫`` is the reason the XSD saw: 涉嫌抢劫, not 涉嫌."""
    (only,) = outcomes(
        "outbound-shandong", (SAMPLES / "shandong-cdata-split-reason.xml").read_bytes()
    )
    assert "涉嫌抢劫" == only.rendered()["data"]["reason"]


def test_a_henan_batch_keeps_its_good_lines_in_local_time() -> None:
    """Lines 1 and 3 around the year-0001 line are read, their times in Asia/Shanghai (UTC+8)."""
    found = outcomes(
        "outbound-henan", (SAMPLES / "henan-year-0001-between-good-lines.dat").read_bytes()
    )
    times = [o.rendered()["time"] for o in found if o.event is not None]
    assert ["2026-11-21T16:00:00.000Z", "2026-11-25T00:00:10.000Z"] == times


@pytest.mark.parametrize("name", sorted(n for n in REFUSED if n.startswith("json-form-")))
def test_validate_prints_the_rule_and_exits_1_without_a_traceback(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``hxbus validate`` on each hostile JSON event: exit 1, the rule on stdout, no traceback."""
    status = main(["validate", str(SAMPLES / name)])
    out, err = capsys.readouterr()
    assert (1, True, "") == (status, REFUSED[name][1] in out, err)


@pytest.mark.parametrize(
    "name", sorted(n for n in REFUSED if _target(n).startswith("outbound-") and REFUSED[n])
)
def test_translate_prints_the_rule_and_exits_1_without_a_traceback(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``hxbus bridge translate`` on each hostile local file: exit 1, the rule, no traceback."""
    profile = _target(name).removeprefix("outbound-")
    (province,) = load_agreement().provinces_with_profile(profile)
    status = main(
        [
            "bridge",
            "translate",
            "--province",
            province,
            "--direction",
            "outbound",
            str(SAMPLES / name),
        ]
    )
    _, err = capsys.readouterr()
    rule = REFUSED[name][min(REFUSED[name])].split(": ", 1)[-1]
    assert (1, True, False) == (status, rule in err, "Traceback" in err)


def test_an_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that is not there: translate and validate both exit 2, saying so."""
    missing = tmp_path / "missing.json"
    translated = main(
        ["bridge", "translate", "--province", "JS", "--direction", "outbound", str(missing)]
    )
    validated = main(["validate", str(missing)])
    _, err = capsys.readouterr()
    assert (2, 2, 2) == (translated, validated, err.count("cannot read"))
