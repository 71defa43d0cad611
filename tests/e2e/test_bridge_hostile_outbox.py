"""A running bridge fed a hostile outbox file between good ones (issue 15).

``hxbus bridge run --outbound-only`` for Jiangsu; the outbox holds a good alert, then a
file whose alert id is a lone surrogate (the input that used to kill the outbox thread,
on every restart), then another good alert. The good ones are published once and moved to
``sent/``; the bad one goes to ``rejected/`` with its reason; and the bridge is still
running: a good file dropped afterwards is published too, and the bridge stops cleanly.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e_bridge_support import shared_alerts, start_bridge, stop_when
from topic_reading import read_records, topic_ends

from bridge.profiles import get_profile
from runtime import Settings, run_provisioning
from schemas import BROADCAST_TOPICS, Agreement

pytestmark = pytest.mark.broker


def drop(outbox: Path, name: str, content: bytes, age_s: float) -> None:
    """Write ``name`` into the outbox, dated ``age_s`` seconds ago (the outbox goes oldest
    first, by modification time)."""
    path = outbox / name
    path.write_bytes(content)
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))


def test_a_bad_file_between_good_ones_is_rejected_and_the_bridge_goes_on(
    settings: Settings,
    agreement: Agreement,
    unique_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    """Good files published and in sent/, the bad one in rejected/ with its rule, bridge alive."""
    run_provisioning(settings, agreement)
    start = topic_ends(settings, BROADCAST_TOPICS["PERSON"])
    jiangsu = get_profile("jiangsu", agreement)
    alerts = shared_alerts(agreement, "JS", ["PersonAlert"])
    first, bad, second, later = next(alerts), next(alerts), next(alerts), next(alerts)
    root = tmp_path / "js"
    outbox = root / "outbox"
    outbox.mkdir(parents=True)
    document = json.loads(jiangsu.to_local(bad).content)
    document["SJ"]["BKBH"] = "\ud800"  # a lone surrogate as the alert id
    drop(outbox, "a-first.json", jiangsu.to_local(first).content, age_s=30)
    drop(outbox, "b-bad.json", json.dumps(document).encode("ascii"), age_s=20)
    drop(outbox, "c-second.json", jiangsu.to_local(second).content, age_s=10)

    bridge = start_bridge(settings, "JS", root, unique_name("g-js-hostile"), "--outbound-only")

    def sent() -> list[str]:
        return sorted(p.name for p in (root / "sent").iterdir()) if (root / "sent").exists() else []

    def first_three_done() -> bool:
        return sent() == ["a-first.json", "c-second.json"] and not any(outbox.iterdir())

    deadline = time.monotonic() + 60
    while not first_three_done() and time.monotonic() < deadline:
        time.sleep(0.3)
    drop(outbox, "d-later.json", jiangsu.to_local(later).content, age_s=0)
    (log_lines,) = stop_when(lambda: "d-later.json" in sent(), [bridge], within_s=60)

    ids = [e.envelope.message_id.encode() for e in (first, bad, second, later)]
    on_topic = [
        dict(r.headers)["ce_id"]
        for r in read_records(settings, start)
        if dict(r.headers).get("ce_id") in ids
    ]
    assert (
        sorted([ids[0], ids[2], ids[3]]),
        ["a-first.json", "c-second.json", "d-later.json"],
    ) == (
        sorted(on_topic),
        sent(),
    )
    assert ["b-bad.json", "b-bad.json.error.txt"] == sorted(
        p.name for p in (root / "rejected").iterdir()
    )
    error = (root / "rejected" / "b-bad.json.error.txt").read_text(encoding="utf-8")
    assert (
        "b-bad.json: rejected, nothing was published\n"
        "line 1: data.alert_id: holds an unpaired surrogate, which UTF-8 and GB18030 cannot carry\n"
    ) == error
    assert [] == [line for line in log_lines if line.get("event") == "outbox_failed"]
