"""End-to-end latency as the local system sees it: ``created_at`` → the file in its inbox.

One measure, shared by ``hxbus demo`` and ``hxbus bench`` (issue 17): for each file the
directory sink delivered, its ctime (set when the sink links the synced file under its
final name, i.e. when the local system can first see it) minus the ``created_at`` of the
message it carries. The caller says which messages it sent and when they were created
(``created``: message id → POSIX seconds); every other file is left out — a tracker's
second notice keeps its request's issue time (``ce_time``), so its age is how late the
answer is, not how long the exchange took to carry it.

File times come from the kernel's coarse clock (one tick, 4 ms at HZ=250, behind the
real time), so a latency read here can be up to a tick short; percentiles of many files
are what to read, not one file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

#: The directory sink's temporary files start with a dot; they are not delivered yet.
_TEMP_PREFIX = "."


@dataclass(frozen=True, slots=True)
class Percentiles:
    """Latency percentiles in milliseconds over ``count`` files."""

    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, values_ms: Iterable[float]) -> Percentiles | None:
        """Nearest-rank percentiles of ``values_ms``; None when there are none."""
        ordered = sorted(values_ms)
        if not ordered:
            return None

        def at(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

        return cls(len(ordered), at(0.50), at(0.95), at(0.99), at(1.0))


def file_latencies_ms(inbox: Path, created: Mapping[str, float]) -> list[float]:
    """``ctime - created_at`` (ms) of every delivered file in ``inbox`` whose message id
    (the file name up to the first dot) is in ``created``."""
    out: list[float] = []
    if not inbox.is_dir():
        return out
    for path in inbox.iterdir():
        if path.name.startswith(_TEMP_PREFIX):
            continue
        sent = created.get(path.name.split(".", 1)[0])
        if sent is not None:
            out.append((path.stat().st_ctime_ns / 1e9 - sent) * 1000)
    return out
