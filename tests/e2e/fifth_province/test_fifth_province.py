"""A fifth province added from this folder alone (CONTRIBUTING.md, "Add a province"):
Huaihe's table in the agreement (``huaihe.toml``), its profile (``huaihe_profile.py``)
and goldens. ``hxbus bridge translate`` turns the goldens into each other both ways, and
a real ``hxbus bridge run --province HH`` on the real broker delivers a request addressed
to Huaiyuan into its inbox in the Huaihe format and publishes the request Huaiyuan's
local system drops into its outbox. Nothing outside this folder knows Huaihe.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from huaihe_profile import HuaiheProfile
from topic_reading import read_records, topic_ends

from bridge import bridge_topics
from consumers.offsets import start_group_at_end
from producers import Publisher, fan_out_message_id
from runtime import Settings, run_provisioning
from schemas import (
    DEFAULT_AGREEMENT_PATH,
    Agreement,
    ExchangeEvent,
    inbox_topic,
    load_agreement,
    parse_event,
    render_event,
)
from schemas.timestamps import format_time

pytestmark = pytest.mark.broker

HERE = Path(__file__).resolve().parent
GOLDENS = HERE / "goldens"
XUZHOU = "320300000000"
HUAIYUAN = "900100000000"


@pytest.fixture(scope="module")
def agreement_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's agreement with Huaihe's table and agency appended."""
    path = tmp_path_factory.mktemp("fifth") / "agreement.toml"
    text = DEFAULT_AGREEMENT_PATH.read_text(encoding="utf-8")
    path.write_text(text + (HERE / "huaihe.toml").read_text(encoding="utf-8"), encoding="utf-8")
    return path


def hxbus_env(agreement_path: Path, **extra: str) -> dict[str, str]:
    """A command's environment: the fifth agreement, and this folder on the Python path
    (where the agreement's ``huaihe_profile:HuaiheProfile`` is found)."""
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "HX_AGREEMENT": str(agreement_path), "PYTHONPATH": path, **extra}


def translate(
    agreement_path: Path, direction: str, golden: str
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "hxbus", "bridge", "translate", "--province", "HH",
         "--direction", direction, str(GOLDENS / golden)],
        env=hxbus_env(agreement_path),
        capture_output=True,
        timeout=60,
        check=False,
    )  # fmt: skip


def test_translate_inbound_gives_the_huaihe_golden(agreement_path: Path) -> None:
    """An exchange request for Huaiyuan prints as the Huaihe golden; nothing cut or dropped."""
    done = translate(agreement_path, "inbound", "request_to_huaiyuan.exchange.json")
    note = (
        b"line 1: 5bf247a9-f5e6-4809-b53d-64e262833e81.json: truncated: nothing; dropped: nothing\n"
    )
    expected = (GOLDENS / "request_to_huaiyuan.local.json").read_bytes()
    assert (0, expected, note) == (done.returncode, done.stdout, done.stderr)


def test_translate_outbound_gives_the_exchange_golden(agreement_path: Path) -> None:
    """A Huaihe file from Huaiyuan's outbox prints as the exchange golden (JSON form)."""
    done = translate(agreement_path, "outbound", "request_from_huaiyuan.local.json")
    expected = json.loads((GOLDENS / "request_from_huaiyuan.exchange.json").read_bytes())
    assert (0, expected, b"") == (done.returncode, json.loads(done.stdout), done.stderr)


def test_translate_outbound_names_the_huaihe_key_that_is_wrong(
    agreement_path: Path, tmp_path: Path
) -> None:
    """A Huaihe file with a key the format lacks: exit 1, the key and the rule, no value."""
    document = json.loads((GOLDENS / "request_from_huaiyuan.local.json").read_bytes())
    document["XM"] = "王芳"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    done = translate(agreement_path, "outbound", str(bad))
    assert (1, b"", b"line 1: XM: not a Huaihe key\n") == (
        done.returncode,
        done.stdout,
        done.stderr,
    )


def fresh(document: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A golden request with new ids and times from ``now`` (deadlines hold, nothing is
    a duplicate of an earlier run's)."""
    data = dict(document["data"])
    data.update(
        request_id=str(uuid.uuid4()),
        ack_by=format_time(now + timedelta(minutes=5)),
        respond_by=format_time(now + timedelta(hours=1)),
    )
    message_id = str(uuid.uuid4())
    return {**document, "id": message_id, "correlationid": message_id,
            "time": format_time(now), "data": data}  # fmt: skip


def outbox_file(agreement: Agreement, now: datetime) -> tuple[ExchangeEvent, bytes]:
    """A request from Huaiyuan to Xuzhou as its local system writes it (the golden, fresh)."""
    golden = json.loads((GOLDENS / "request_from_huaiyuan.exchange.json").read_bytes())
    event = parse_event(fresh(golden, now), agreement)
    return event, HuaiheProfile(agreement).to_local(event).content


def delivered(inbox: Path) -> list[Path]:
    return sorted(inbox.glob("*.json")) if inbox.is_dir() else []


def test_a_bridge_of_the_fifth_province_delivers_and_publishes(
    settings: Settings,
    agreement_path: Path,
    unique_name: Any,
    tmp_path: Path,
) -> None:
    """On the real broker, ``hxbus bridge run --province HH`` delivers a request for
    Huaiyuan into its inbox in the Huaihe format, and publishes its outbox's request from
    Huaiyuan (its own agency: the outbox knows its province from the agreement) to
    Xuzhou's inbox, once, under the id derived from the local one (its copy for Xuzhou)."""
    settings = settings.model_copy(update={"agreement": agreement_path})
    agreement = load_agreement(agreement_path)
    group = unique_name("g-hh")
    run_provisioning(settings, agreement)
    start_group_at_end(settings, group, bridge_topics(agreement, "HH"))
    xuzhou_start = topic_ends(settings, inbox_topic(XUZHOU))
    now = datetime.now(UTC)

    root = tmp_path / "hh"
    (root / "outbox").mkdir(parents=True)
    outgoing, content = outbox_file(agreement, now)
    (root / "outbox" / "request.json").write_bytes(content)
    golden = json.loads((GOLDENS / "request_to_huaiyuan.exchange.json").read_bytes())
    del golden["hxtarget"]  # the publisher addresses the copy
    incoming = parse_event(fresh(golden, now), agreement)
    with Publisher(settings, agreement) as publisher:
        (published,) = publisher.publish_many([incoming])
    assert published.ok, published.error

    log = tmp_path / "bridge.log"
    with log.open("wb") as out:
        bridge = subprocess.Popen(
            [sys.executable, "-m", "hxbus", "bridge", "run", "--province", "HH",
             "--root", str(root), "--group", group],
            env=hxbus_env(agreement_path, HX_BOOTSTRAP=settings.bootstrap,
                          HX_STATE_DIR=str(settings.state_dir), HX_METRICS_PORT="0"),
            stdout=subprocess.DEVNULL,
            stderr=out,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            delivered(root / "inbox") and list((root / "sent").glob("*"))
        ):
            assert bridge.poll() is None, log.read_text(encoding="utf-8")[-3000:]
            time.sleep(0.3)
    finally:
        bridge.send_signal(signal.SIGTERM)
        bridge.wait(timeout=30)
    assert 0 == bridge.returncode, log.read_text(encoding="utf-8")[-3000:]

    files = delivered(root / "inbox")
    copy_for_xuzhou = fan_out_message_id(outgoing.envelope.message_id, XUZHOU)
    events = [next(HuaiheProfile(agreement).from_local(f.read_bytes(), f.name)) for f in files]
    on_bus = [
        r for r in read_records(settings, xuzhou_start)
        if dict(r.headers).get("ce_id") == copy_for_xuzhou.encode()
    ]  # fmt: skip
    assert (
        [(XUZHOU, HUAIYUAN, render_event(incoming)["data"])],
        ["request.json"],
        1,
    ) == (
        [(e.event.envelope.source, e.event.envelope.target, render_event(e.event)["data"])
         for e in events if e.event is not None],
        sorted(p.name for p in (root / "sent").iterdir()),
        len(on_bus),
    )  # fmt: skip
