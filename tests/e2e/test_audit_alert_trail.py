"""``hxbus audit --alert ID`` after an alert and its withdrawal went through all four
bridges (issue 7, part 4): each receiving agency is listed with both deliveries.

The four bridges run as subprocesses on the real broker, their groups started at the
topics' ends. Other traffic on the shared topics keeps them busy, so they are stopped with
SIGTERM once every local root holds both messages; the audit is read afterwards.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from e2e_bridge_support import (
    HXBUS,
    bridge_env,
    inbox_ids,
    prepare_groups,
    publish_all,
    shared_alerts,
    start_bridge,
    stop_when,
)

from runtime import Settings
from schemas import (
    DEFAULT_AGREEMENT_PATH,
    Agreement,
    Envelope,
    ExchangeEvent,
    load_agreement,
    new_message_id,
)

pytestmark = pytest.mark.broker

#: Every province of the agreement (its spec: schemas/province.py).
PROVINCES = tuple(load_agreement(DEFAULT_AGREEMENT_PATH).provinces)


def withdrawal(alert: ExchangeEvent) -> ExchangeEvent:
    moment = datetime.now(UTC).replace(microsecond=0)
    issuer = alert.record["issuing_agency"]
    record = {
        "alert_id": alert.record["alert_id"],
        "alert_kind": "PERSON",
        "status": "WITHDRAWN",
        "reason": "嫌疑人已到案",
        "changed_at": moment,
        "agency": issuer,
    }
    return ExchangeEvent(
        Envelope("AlertStatusChange", issuer, new_message_id(), created_at=moment), record
    )


def test_audit_lists_each_receiving_agency_with_alert_and_withdrawal(
    settings: Settings,
    agreement: Agreement,
    unique_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    """Every partner agency of the issuer: the alert and the withdrawal, both DELIVERED."""
    groups = {p: unique_name(f"g-audit-{p.lower()}") for p in PROVINCES}
    prepare_groups(settings, agreement, groups)
    alert = next(shared_alerts(agreement, "JS", ["PersonAlert"]))
    change = withdrawal(alert)
    publish_all(settings, agreement, [alert, change])

    roots = {p: tmp_path / p.lower() for p in PROVINCES}
    bridges = {p: start_bridge(settings, p, roots[p], groups[p]) for p in PROVINCES}
    ours = {alert.envelope.message_id, change.envelope.message_id}
    stop_when(lambda: not any(ours - inbox_ids(roots[p]) for p in PROVINCES), [*bridges.values()])
    assert dict.fromkeys(PROVINCES, ours) == {p: inbox_ids(roots[p]) & ours for p in PROVINCES}

    alert_id = alert.record["alert_id"]
    done = subprocess.run(
        [*HXBUS, "audit", "--alert", alert_id, "--json"],
        env=bridge_env(settings),
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert 0 == done.returncode, done.stderr.decode()
    trail = json.loads(done.stdout)

    issuer = alert.record["issuing_agency"]
    expected = {
        a.id: {
            "alert": [(alert.envelope.message_id, "DELIVERED")],
            "status_changes": [(change.envelope.message_id, "DELIVERED")],
            "withdrawal_reached": True,
        }
        for a in agreement.agencies
        if a.id != issuer
    }
    actual = {
        row["agency"]: {
            "alert": [(d["message_id"], d["outcome"]) for d in row["alert"]],
            "status_changes": [(d["message_id"], d["outcome"]) for d in row["status_changes"]],
            "withdrawal_reached": row["withdrawal_reached"],
        }
        for row in trail["agencies"]
    }
    assert expected == actual
    assert (alert_id, issuer) == (trail["alert_id"], trail["issuer"])
    # Every delivery names its province, sink, profile version and the delivered bytes' hash.
    deliveries = [d for row in trail["agencies"] for d in (*row["alert"], *row["status_changes"])]
    assert all(
        d["province"] and d["sink"] == "DIRECTORY" and d["profile_version"] and d["local_sha256"]
        for d in deliveries
    )
