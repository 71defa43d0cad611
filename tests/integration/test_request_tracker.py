"""The request tracker on the real broker, run as the role operators run (``hxbus tracker run``).

Each test gets an agreement of its own: the repository's, with two fresh agencies (so
their inboxes are this test's alone and the tracker touches no one else's traffic) and
the IMMEDIATE deadline shrunk to 3 seconds through ``[deadlines]``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from consumer_support import create_topic
from topic_reading import partitions_of, read_records

from consumers.tracker import NoticeState, TrackedItem, TrackerStore
from producers import Publisher
from runtime import Settings, run_provisioning
from runtime.kafka import Admin
from schemas import (
    DEFAULT_AGREEMENT_PATH,
    Agreement,
    Codec,
    ExchangeEvent,
    load_agreement,
    parse_headers,
)

pytestmark = pytest.mark.broker

IMMEDIATE_S = 3
REPO = Path(__file__).resolve().parents[2]


def _unit_helpers() -> ModuleType:
    """tests/unit/tracker_support.py, the event builders the unit tests use too (loaded by
    path: the two tiers are separate import roots)."""
    path = REPO / "tests" / "unit" / "tracker_support.py"
    spec = importlib.util.spec_from_file_location("tracker_support_for_integration", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


events = _unit_helpers()


def _agency_block(agency_id: str, province: str, city: str, plate: str) -> str:
    return (
        f'[[agencies]]\nid = "{agency_id}"\ncity = "{city}"\ncity_zh = "测试"\n'
        f'province = "{province}"\nadmin_code = "{agency_id[:6]}"\nplate_prefix = "{plate}"\n\n'
    )


@pytest.fixture
def group(unique_name: Any) -> str:
    """The tracker's consumer group (a rebuilt tracker uses it with ``-rebuilt``)."""
    return f"g-{unique_name('tracker')}"


@pytest.fixture
def parties(
    kafka_bootstrap: str, tmp_path: Path, admin: Admin, group: str
) -> Iterator[tuple[Settings, Agreement, str, str]]:
    """Settings on an agreement with a fresh requester and target (and their inboxes);
    afterwards their inboxes and this test's DLQ topics are deleted."""
    rng = random.Random()
    requester = f"32{rng.randint(9000, 9999)}000000"
    target = f"37{rng.randint(9000, 9999)}000000"
    text = DEFAULT_AGREEMENT_PATH.read_text(encoding="utf-8")
    text = text.replace("IMMEDIATE = 600", f"IMMEDIATE = {IMMEDIATE_S}")
    blocks = _agency_block(requester, "JS", "TestRequester", "苏Z") + _agency_block(
        target, "SD", "TestTarget", "鲁Z"
    )
    text = text.replace("# Topics.", blocks + "# Topics.", 1)
    path = tmp_path / "agreement.toml"
    path.write_text(text, encoding="utf-8")
    settings = Settings(bootstrap=kafka_bootstrap, agreement=path, state_dir=tmp_path / "state")
    agreement = load_agreement(path)
    assert IMMEDIATE_S == agreement.deadline_seconds("IMMEDIATE")
    topics = [f"hx.inbox.{requester}", f"hx.inbox.{target}"]
    for topic in topics:
        create_topic(settings, admin, topic, 3)
    yield settings, agreement, requester, target
    existing = set(admin.list_topics())
    ours = {*topics, f"hx.dlq.{group}", f"hx.dlq.{group}-rebuilt"}
    admin.delete_topics([t for t in existing if t in ours])


def tracker_command(
    settings: Settings, group: str, *inboxes: str, extra: tuple[str, ...] = ()
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of ``hxbus tracker run`` for this test."""
    environment = {
        **os.environ,
        "HX_BOOTSTRAP": settings.bootstrap,
        "HX_AGREEMENT": str(settings.agreement),
        "HX_STATE_DIR": str(settings.state_dir),
    }
    arguments = [sys.executable, "-m", "hxbus", "--log-level", "WARNING", "tracker", "run"]
    arguments += ["--group", group, "--interval", "0.5", *extra]
    for inbox in inboxes:
        arguments += ["--inbox", inbox]
    return arguments, environment


def run_until(
    settings: Settings, group: str, inboxes: tuple[str, str], done: Any
) -> dict[str, int]:
    """Run the tracker until ``done(items)`` holds (at most 120 s), then SIGTERM it."""
    arguments, environment = tracker_command(settings, group, *inboxes)
    process = subprocess.Popen(
        arguments, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not done(read_items(settings, group)):
            assert process.poll() is None, process.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the tracker did not get there in 120 s"
            time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert 0 == process.returncode, err[-3000:]
    counts: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return counts


def run_idle(settings: Settings, group: str, inboxes: tuple[str, str]) -> dict[str, int]:
    """Run the tracker until nothing came for 10 s (it exits by itself)."""
    arguments, environment = tracker_command(
        settings, group, *inboxes, extra=("--until-idle", "10")
    )
    done = subprocess.run(
        arguments, env=environment, capture_output=True, text=True, timeout=180, check=False
    )
    assert 0 == done.returncode, done.stderr[-3000:]
    counts: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return counts


def read_items(settings: Settings, group: str) -> dict[str, TrackedItem]:
    with TrackerStore.for_group(settings.state_dir, group) as store:
        return {item.item_id: item for item in store.items()}


def requests_listing(settings: Settings, group: str, *options: str) -> list[dict[str, Any]]:
    environment = {
        **os.environ,
        "HX_AGREEMENT": str(settings.agreement),
        "HX_STATE_DIR": str(settings.state_dir),
    }
    done = subprocess.run(
        [sys.executable, "-m", "hxbus", "requests", "--group", group, "--json", *options],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]  # NDJSON


def inbox_copies(settings: Settings, agency: str, record_field: str, value: str) -> list[Any]:
    """Every message in ``agency``'s inbox whose record has ``record_field == value``, as
    (envelope, record), read with a plain consumer from the beginning."""
    codec = Codec()
    found = []
    for message in read_records(settings, partitions_of(f"hx.inbox.{agency}", 3)):
        envelope, _headers = parse_headers(message.headers)
        _event_type, record = codec.decode(message.value)
        if record.get(record_field) == value:
            found.append((envelope, record))
    return found


def test_unanswered_immediate_hit_gets_one_second_notice_also_across_restart_and_rebuild(
    parties: tuple[Settings, Agreement, str, str], group: str
) -> None:
    """An IMMEDIATE hit left unanswered is overdue after its (3 s) deadline and exactly one
    second notice reaches the issuer's inbox; an answered request is not overdue; neither a
    restart nor a tracker rebuilt from the topics sends another."""
    settings, agreement, requester, target = parties
    now = datetime.now(UTC)
    hit = events.hit(agreement, now, reporter=requester, issuer=target, priority="IMMEDIATE")
    hit = ExchangeEvent(hit.envelope, {**hit.record, "alert_id": str(uuid.uuid4())})
    alert = events.alert_of(agreement, hit, now)  # the tracker judges the hit against it
    run_provisioning(settings, agreement)  # the alert topics
    asked = events.request(
        agreement,
        now,
        ack_in=timedelta(seconds=IMMEDIATE_S),
        respond_in=timedelta(seconds=IMMEDIATE_S),
        requester=requester,
        targets=(target,),
    )
    done = events.response(agreement, asked, target, "COMPLETED", now + timedelta(seconds=1))
    with Publisher(settings, agreement, delivery_timeout_ms=10_000) as publisher:
        for event in (alert, hit, asked, done):
            publisher.publish(event)
    hit_id, request_id = hit.record["hit_id"], asked.record["request_id"]
    inboxes = (requester, target)

    def settled(items: dict[str, TrackedItem]) -> bool:
        noticed = hit_id in items and items[hit_id].notice is NoticeState.SENT
        return noticed and request_id in items and items[request_id].answered_at is not None

    first = run_until(settings, group, inboxes, settled)
    overdue = requests_listing(settings, group, "--overdue")
    listed = {row["id"]: row for row in requests_listing(settings, group)}
    restarted = run_idle(settings, group, inboxes)
    rebuilt_settings = settings.model_copy(update={"state_dir": settings.state_dir / "rebuilt"})
    rebuilt = run_idle(rebuilt_settings, f"{group}-rebuilt", inboxes)
    rebuilt_items = read_items(rebuilt_settings, f"{group}-rebuilt")

    copies = inbox_copies(settings, target, "hit_id", hit_id)
    notices = [envelope for envelope, _record in copies if envelope.causation_id is not None]
    assert (
        1,
        [("hit", hit_id, "overdue", "sent")],
        ("answered", False),
        2,
        [hit.envelope.message_id],
        (0, 0),
        (True, True),
        NoticeState.SENT,
    ) == (
        first["second_notices_sent"],
        [(r["kind"], r["id"], r["state"], r["second_notice"]) for r in overdue],
        (listed[request_id]["state"], listed[request_id]["answered_late"]),
        len(copies),
        [envelope.causation_id for envelope in notices],
        (restarted["second_notices_sent"], rebuilt["second_notices_sent"]),
        (restarted["sweeps"] > 0, rebuilt["sweeps"] > 0),
        rebuilt_items[hit_id].notice,
    )
