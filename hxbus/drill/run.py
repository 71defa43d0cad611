"""One drill: start the region, traffic, the faults in turn, drain, check, report.

The order: the cluster (three nodes, replication 3, min.insync.replicas 2) and the topics;
the HTTP receiver; the four bridges, the tracker and the register; the publisher. Then a
stretch of plain traffic, and each fault of the schedule followed by a stretch of plain
traffic (recovery shows there, and the next fault starts from a whole system). Traffic
runs at least ``minutes``; then the publisher is stopped (it settles what it has in
flight), the bridges drain (their groups' lag reaches 0), and the checker compares what
the local systems hold with the ledger.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bridge.runner import bridge_topics, default_group
from consumers.lag import read_lag
from hxbus.drill.check import Result, check
from hxbus.drill.faults import Fault, FaultRecord, Timing
from hxbus.drill.ledger import Ledger
from hxbus.drill.region import Region
from runtime import Settings, open_admin, open_consumer
from schemas import Agreement, utc_now_ms
from schemas.errors import BrokerError

#: How long the bridges may take to deliver the rest once the publisher stopped.
DRAIN_TIMEOUT_S = 300.0


@dataclass
class DrillRun:
    """What one drill did and found."""

    result: Result
    faults: list[FaultRecord]
    run: dict[str, Any] = field(default_factory=dict)


class Drill:
    def __init__(
        self,
        settings: Settings,
        agreement: Agreement,
        *,
        root: Path,
        minutes: float,
        rate: float,
        faults: list[Fault],
        base_port: int,
        seed: int,
        say: Callable[[str], None],
    ) -> None:
        self.minutes = minutes
        self.rate = rate
        self.faults = faults
        self.seed = seed
        self.say = say
        self.timing = Timing.for_minutes(minutes)
        self.region = Region(
            root.resolve(), agreement, settings, base_port, rate, self.timing.http_timeout
        )

    def run(self) -> DrillRun:
        region = self.region
        try:
            region.prepare()
            self.say(f"starting a three-broker cluster on ports {region.base_port}-"
                     f"{region.base_port + 5} (state in {region.root / '.state'})")  # fmt: skip
            region.start_cluster()
            region.start_receiver()
            region.plan_roles()
            for name in region.roles:
                region.start_role(name, wait=False)
            region.wait_ready(list(region.roles))
            self.say("roles ready: " + ", ".join(region.roles))
            self._write_meta()
            region.start_publisher()
            run_start = time.time()
            self.say(f"traffic at {self.rate:g} events/s; faults scaled by {self.timing.scale:.2f}")
            time.sleep(self.timing.gap_s)
            records = [self._inject(fault) for fault in self.faults]
            left = run_start + self.minutes * 60 - time.time()
            if left > 0:
                self.say(f"traffic without faults for another {left:.0f} s")
                time.sleep(left)
            run_end = time.time()
            status = region.stop_publisher()
            self.say(f"publisher stopped (exit {status}); the bridges deliver the rest")
            drained = self._drain()
            exited = {
                name: role.process.returncode
                for name, role in region.roles.items()
                if name != "publisher" and role.process is not None and not role.alive()
            }
            # The tracker may still send second notices: stop every role before reading, so
            # the inboxes and the audit trail cannot move between the two readings.
            region.stop_roles()
            answers = dict(region.receiver.system.answered) if region.receiver else {}
            self.say("checking the local systems against the ledger")
            ledger = Ledger(region.ledger_path)
            try:
                result = check(
                    ledger,
                    region.agreement,
                    {p: region.inbox(p) for p in region.agreement.provinces},
                    region.receiver_log,
                    region.settings,
                    records,
                    run_start,
                    run_end,
                )
            finally:
                ledger.close()
            run = {
                "minutes": self.minutes,
                "rate": self.rate,
                "seed": self.seed,
                "scale": round(self.timing.scale, 2),
                "traffic_s": round(run_end - run_start),
                "drained": drained,
                "roles_exited_on_their_own": exited,
                "receiver_answers": {str(k): v for k, v in sorted(answers.items())},
                "restarts": {n: r.starts - 1 for n, r in region.roles.items() if r.starts > 1},
                "started_at": datetime.fromtimestamp(run_start)
                .astimezone()
                .isoformat(timespec="seconds"),
            }
            return DrillRun(result, records, run)
        finally:
            self.say("stopping the drill's roles and cluster")
            region.stop()

    def _write_meta(self) -> None:
        ledger = Ledger(self.region.ledger_path)
        try:
            ledger.set_meta(
                {
                    "seed": str(self.seed),
                    "start": utc_now_ms().isoformat(),
                    "spacing_ms": str(max(1, round(1000 / self.rate))),
                    "rate": f"{self.rate:g}",
                }
            )
        finally:
            ledger.close()

    def _inject(self, fault: Fault) -> FaultRecord:
        record = FaultRecord(fault.name, fault.description, time.time())
        self.say(f"fault {fault.name}: {fault.description}")
        fault.inject(self.region, self.timing, record)
        record.healed = time.time()
        detail = ", ".join(f"{k} {v}" for k, v in record.detail.items())
        self.say(f"  healed after {record.healed - record.started:.1f} s ({detail})")
        time.sleep(self.timing.gap_s)
        return record

    def _drain(self) -> bool:
        """Wait until every bridge group has committed everything (lag 0)."""
        region = self.region
        groups = {
            default_group(p): bridge_topics(region.agreement, p) for p in region.agreement.provinces
        }
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                admin = open_admin(region.settings)
                consumer = open_consumer(region.settings)
                try:
                    lag = sum(
                        sum(read_lag(admin, consumer, g, t).values()) for g, t in groups.items()
                    )
                finally:
                    consumer.close()
                    admin.close()
            except BrokerError:
                lag = -1
            if lag == 0:
                time.sleep(2.0)  # the last batch's files are named before its commit
                return True
            time.sleep(1.0)
        return False
