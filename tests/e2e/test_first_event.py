"""The first event end to end: a PersonAlert published, the Jiangsu bridge writes RYBK.

The sample alert of the fixtures (Xuzhou, SHARE_ALL_PARTNERS) goes through the Publisher
to ``hx.alerts.person``; ``hxbus bridge run --province JS`` runs as a real subprocess (and is
stopped with SIGTERM once the file is there, which it must take gracefully), and
writes ``<XXBH>.json`` into its root's ``inbox/``. The expected document below is written
by hand from ../shared/icd/jiangsu.md (the RYBK table and its sample), not from the
code's output.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e_bridge_support import delivered_ids, finish, prepare_groups, start_bridge

from producers import Publisher
from runtime import Settings
from schemas import Agreement, parse_event

pytestmark = pytest.mark.broker

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "events" / "person_alert_xuzhou.json"

#: The RYBK message for the fixture alert, from the ICD: envelope XXBH/XXLX/FSDW/FSSJ/SJ;
#: times in Asia/Shanghai without zone; dates yyyyMMdd; codes from the shared tables
#: (WANTED 01, MALE 1, VIOLENT 02, LOCATE_AND_DETAIN 01, SHARE_ALL_PARTNERS 1); absent
#: values (aliases, height, photos, last_known, …) left out.
EXPECTED_RYBK: dict[str, Any] = {
    "XXBH": "6f1c1d7e-2b1a-4c55-9a51-0c7e3f4f9a10",
    "XXLX": "RYBK",
    "FSDW": "320300000000",
    "FSSJ": "2026-11-20 09:15:02",
    "SJ": {
        "BKBH": "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31",
        "BBH": 1,
        "BKLB": "01",
        "XM": "张伟",
        "XMPY": "ZHANG WEI",
        "XB": "1",
        "CSRQ": "19880412",
        "GMSFHM": "320303198804120419",
        "GJ": "CHN",
        "BKYY": "涉嫌盗窃",
        "AJBH": "A3203002026110001",
        "JSBS": ["02"],
        "CZYQ": "01",
        "FBDW": "320300000000",
        "FBSJ": "2026-11-20 09:15:00",
        "YXQZ": "2027-05-20 09:15:00",
        "CLJB": "1",
        "FLYJ": "徐公刑拘字〔2026〕1234号",
        "LXR": {"DW": "徐州市公安局刑警支队", "XM": "李明", "DH": "0516-83000000"},
    },
}


def test_sample_person_alert_lands_in_jiangsu_inbox_as_the_icd_rybk(
    settings: Settings,
    agreement: Agreement,
    unique_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    """A published PersonAlert becomes <XXBH>.json in the Jiangsu inbox, key for key the ICD's."""
    group = unique_name("g")
    prepare_groups(settings, agreement, {"JS": group})
    event = parse_event(json.loads(FIXTURE.read_text(encoding="utf-8")), agreement)
    with Publisher(settings, agreement) as publisher:
        publisher.publish(event)

    root = tmp_path / "jiangsu"
    bridge = start_bridge(settings, "JS", root, group)  # runs until told to stop
    written = root / "inbox" / f"{EXPECTED_RYBK['XXBH']}.json"
    deadline = time.monotonic() + 60
    while not written.exists() and bridge.process.poll() is None:
        assert time.monotonic() < deadline, "no RYBK file within 60 s"
        time.sleep(0.2)
    bridge.process.send_signal(signal.SIGTERM)  # graceful: finish, commit, close, exit 0
    lines = finish(bridge, timeout=30)

    assert ["bridge_stopped"] == [e["event"] for e in lines if e["event"] == "bridge_stopped"]
    actual = json.loads(written.read_bytes().decode("utf-8"))
    assert EXPECTED_RYBK == actual
    assert list(EXPECTED_RYBK) == list(actual)  # the envelope in the ICD's order
    assert list(EXPECTED_RYBK["SJ"]) == list(actual["SJ"])  # the body in the table's order
    assert [EXPECTED_RYBK["XXBH"]] == [
        i for i in delivered_ids(lines) if i == EXPECTED_RYBK["XXBH"]
    ]
    # The log lines carry ids, never the subject's name or identity number.
    log_text = json.dumps(lines, ensure_ascii=False)
    assert "320303198804120419" not in log_text
    assert "张伟" not in log_text
