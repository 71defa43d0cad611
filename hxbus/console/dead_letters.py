"""The dead-letter queues of the watched consumer groups, and their audited replay.

Every ``REFRESH_S`` the desk reads each group's DLQ (``consumers.read_dead_letters``, as
``hxbus dlq list``: no group, nothing committed) and keeps per group the count by reason
and the latest entries, their error text with personal data masked (as ``dlq list``
prints it). The groups are the ones given, or every ``hx.dlq.*`` topic on the broker.

A replay is ``consumers.replay`` with the host's replay log, so an entry is replayed at
most once, as from the command line. Each one, whatever its outcome, is written to the
console's audit file (one JSON line: when, which operator, group, entry, outcome) before
the answer goes back, and logged; neither holds anything from the message itself.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from consumers import DeadLetter, ReplayLog, read_dead_letters, replay
from runtime import Settings, mask_personal_data, open_consumer
from schemas import dlq_topic
from schemas.errors import ConfigError

log = structlog.get_logger("hxbus.console")

#: Seconds between two readings of the DLQs.
REFRESH_S = 5.0
#: Latest entries kept per group.
ENTRIES_SHOWN = 30
#: The error text is cut to this many characters.
MESSAGE_CHARS = 120
_DLQ_PREFIX = dlq_topic("")


def audit_path(state_dir: Path) -> Path:
    """The console's audit file of replays (JSON lines, append only, mode 0600)."""
    return state_dir / "console" / "replays.jsonl"


class DeadLetterDesk:
    """Reads the DLQs in a daemon thread; ``summary()`` for the page, ``replay`` to act."""

    def __init__(self, settings: Settings, groups: list[str] | None) -> None:
        self._settings = settings
        self._groups = list(groups) if groups else None
        self._summary: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._replay_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()  # a replay asks for a fresh reading at once
        self._thread = threading.Thread(target=self._run, name="console-dlq", daemon=True)
        self.error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def summary(self) -> dict[str, Any]:
        with self._lock:
            return self._summary

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
                self.error = None
            except Exception as exc:  # the broker went away: say so, try again
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("console_dlq_failed", error=self.error)
            self._wake.wait(REFRESH_S)
            self._wake.clear()

    def groups(self) -> list[str]:
        if self._groups is not None:
            return self._groups
        consumer = open_consumer(self._settings)
        try:
            topics = consumer.topics()
        finally:
            consumer.close()
        return sorted(t[len(_DLQ_PREFIX) :] for t in topics if t.startswith(_DLQ_PREFIX))

    def refresh(self) -> None:
        """Read every group's DLQ now."""
        summary = {}
        replay_log = ReplayLog.under(self._settings.state_dir)
        try:
            for group in self.groups():
                entries = list(read_dead_letters(self._settings, group))
                reasons = Counter(entry.reason for entry in entries)
                summary[group] = {
                    "count": len(entries),
                    "reasons": dict(reasons.most_common()),
                    "entries": [
                        _entry_row(entry, replay_log.replayed(dlq_topic(group), entry.entry_id))
                        for entry in reversed(entries[-ENTRIES_SHOWN:])
                    ],
                }
        finally:
            replay_log.close()
        with self._lock:
            self._summary = summary

    def replay(self, operator: str, group: str, entry_id: str) -> dict[str, str]:
        """Replay one entry as ``operator``; audited whatever the outcome."""
        if group not in self.groups():
            raise ConfigError(f"group: {group!r} is not a group this console watches")
        with self._replay_lock:
            entries = [
                e for e in read_dead_letters(self._settings, group) if e.entry_id == entry_id
            ]
            if not entries:
                outcome = {"status": "refused", "detail": "no such entry"}
            else:
                replay_log = ReplayLog.under(self._settings.state_dir)
                try:
                    result = replay(self._settings, group, entries, replay_log)[0]
                finally:
                    replay_log.close()
                outcome = {"status": result.status, "detail": result.detail}
            self._audit(operator, group, entry_id, outcome)
        self._wake.set()
        return outcome

    def _audit(self, operator: str, group: str, entry_id: str, outcome: dict[str, str]) -> None:
        record = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "action": "dlq_replay",
            "operator": operator,
            "group": group,
            "entry": entry_id,
            **outcome,
        }
        path = audit_path(self._settings.state_dir)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, (json.dumps(record, sort_keys=True) + "\n").encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        log.info(
            "console_replay",
            operator=operator,
            group=group,
            entry=entry_id,
            status=outcome["status"],
        )


def read_audit(state_dir: Path) -> list[dict[str, Any]]:
    """Every replay the console audited on this host, oldest first."""
    path = audit_path(state_dir)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _entry_row(entry: DeadLetter, replayed_at: str | None) -> dict[str, Any]:
    masked = mask_personal_data(None, "", {"text": entry.message})["text"]
    text = " ".join(str(masked).split())
    if len(text) > MESSAGE_CHARS:
        text = text[: MESSAGE_CHARS - 1] + "…"
    return {
        "entry": entry.entry_id,
        "written": entry.header("hx_dlq_time") or entry.timestamp.isoformat(),
        "reason": entry.reason,
        "error_class": entry.error_class,
        "origin": f"{entry.origin_topic}/{entry.origin_partition}@{entry.origin_offset}",
        "message_id": entry.message_id,
        "message": text,
        "replayed_at": replayed_at,
    }
