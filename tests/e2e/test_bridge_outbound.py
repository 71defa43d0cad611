"""The outbound side of ``hxbus bridge run`` on the real broker (issue 6, part 4).

Local files dropped in ``<root>/outbox``: a valid Jiangsu alert is published (read back
from the topic by its ce_id) and moved to ``sent/``; a Jiangsu alert with an invalid
identity number and a Shandong document that breaks the XSD land in ``rejected/`` beside
an ``.error.txt`` naming line, field and rule. Jiangsu runs the whole bridge (inbound and
outbound in one process), Shandong ``--outbound-only``.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e_bridge_support import finish, prepare_groups, shared_alerts, start_bridge
from topic_reading import read_records, topic_ends

from bridge.profiles import get_profile
from runtime import Settings
from schemas import BROADCAST_TOPICS, Agreement

pytestmark = pytest.mark.broker

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def wait_until_empty(folder: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while any(folder.iterdir()):
        assert time.monotonic() < deadline, f"{folder} still holds files after {timeout_s} s"
        time.sleep(0.2)


def wrong_check_digit(id_number: str) -> str:
    """``id_number`` (18 characters) with a check character that does not match."""
    total = sum(int(d) * w for d, w in zip(id_number[:17], ID_WEIGHTS, strict=True))
    right = ID_CHECK[total % 11]
    wrong = next(c for c in "0123456789" if c != right)
    return id_number[:17] + wrong


def test_outbox_files_are_published_or_rejected_with_line_field_and_rule(
    settings: Settings,
    agreement: Agreement,
    unique_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    """Good file: on the topic once and in sent/; bad files: in rejected/ with the reason."""
    group = unique_name("g-js-out")
    prepare_groups(settings, agreement, {"JS": group})
    start = topic_ends(settings, BROADCAST_TOPICS["PERSON"])
    jiangsu, shandong = get_profile("jiangsu", agreement), get_profile("shandong", agreement)

    js_alerts = shared_alerts(agreement, "JS", ["PersonAlert"])
    good, bad_id = next(js_alerts), next(js_alerts)
    js_root, sd_root = tmp_path / "js", tmp_path / "sd"
    for folder in (js_root / "outbox", sd_root / "outbox"):
        folder.mkdir(parents=True)
    (js_root / "outbox" / "good.json").write_bytes(jiangsu.to_local(good).content)
    document = json.loads(jiangsu.to_local(bad_id).content)
    document["SJ"]["GMSFHM"] = wrong_check_digit(document["SJ"]["GMSFHM"])
    (js_root / "outbox" / "bad-id.json").write_text(
        json.dumps(document, ensure_ascii=False), encoding="utf-8"
    )
    sd_alert = next(shared_alerts(agreement, "SD", ["PersonAlert"]))
    xml = shandong.to_local(sd_alert).content.replace(b"<Body>", b"<Body><Unknown/>", 1)
    (sd_root / "outbox" / "broken.xml").write_bytes(xml)

    js = start_bridge(settings, "JS", js_root, group)
    sd = start_bridge(
        settings, "SD", sd_root, unique_name("g-sd"), "--outbound-only", "--until-idle", "2"
    )
    # Other traffic on the shared topics keeps the inbound side busy: stop the JS bridge
    # with SIGTERM (as a service manager does) once its outbox is empty.
    wait_until_empty(js_root / "outbox", timeout_s=45)
    js.process.send_signal(signal.SIGTERM)
    finish(js, timeout=30)
    finish(sd, timeout=30)

    ours = [
        r
        for r in read_records(settings, start)
        if dict(r.headers).get("ce_id") == good.envelope.message_id.encode()
    ]
    assert 1 == len(ours)
    assert good.record["alert_id"].encode() == ours[0].key
    assert ([], ["good.json"]) == (
        sorted(p.name for p in (js_root / "outbox").iterdir()),
        sorted(p.name for p in (js_root / "sent").iterdir()),
    )
    assert ["bad-id.json", "bad-id.json.error.txt"] == sorted(
        p.name for p in (js_root / "rejected").iterdir()
    )
    id_error = (js_root / "rejected" / "bad-id.json.error.txt").read_text(encoding="utf-8")
    assert id_error.startswith("bad-id.json: rejected, nothing was published\nline 1: ")
    rule = (
        "line 1: data.subject.id_number: "
        "the check character (18th) does not match the first 17 (GB 11643)\n"
    )
    assert rule == id_error.split("\n", 1)[1]

    assert ["broken.xml", "broken.xml.error.txt"] == sorted(
        p.name for p in (sd_root / "rejected").iterdir()
    )
    xsd_error = (sd_root / "rejected" / "broken.xml.error.txt").read_text(encoding="utf-8")
    assert "document breaks shandong.xsd: line " in xsd_error
    assert "Unknown: This element is not expected" in xsd_error
    assert [] == list((sd_root / "sent").iterdir())
