"""What one province's local system holds, read from outside the bridge: the files in its
inbox directory (a file's name is its message id, its mtime when it was written) or the
HTTP receiver's log. The drill's check compares it with the ledger (``hxbus.drill.check``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hxbus.drill.receiver import read_log


@dataclass
class Found:
    """What one province's local system holds: message id -> when it arrived, and how many
    times it was stored (a directory holds a name once; the receiver's log says)."""

    first_at: dict[str, float] = field(default_factory=dict)
    stored: Counter[str] = field(default_factory=Counter)


def found_in_inbox(inbox: Path) -> Found:
    """What a directory sink's inbox holds (dot-files are temporary: not delivered)."""
    found = Found()
    if not inbox.exists():
        return found
    for path in inbox.iterdir():
        if path.name.startswith("."):
            continue  # a temporary file of a batch a crash interrupted: not delivered
        message_id = path.name.split(".", 1)[0]
        found.first_at[message_id] = path.stat().st_mtime
        found.stored[message_id] += 1
    return found


def found_by_receiver(log: Path) -> Found:
    """What the HTTP receiver stored (a repeat it recognised is not stored twice)."""
    found = Found()
    for entry in read_log(log):
        if not entry.get("stored"):
            continue  # a repeat the receiver recognised by its Idempotency-Key
        key = str(entry["key"])
        found.stored[key] += 1
        found.first_at.setdefault(key, float(entry["at"]))
    return found
