"""A long-running role's start-up objects, kept out of the garbage collector's full walks."""

from __future__ import annotations

import gc


def freeze_start_up_heap() -> None:
    """Collect once, then keep what start-up left alive out of every later collection.

    A role process holds ~95,000 objects after start-up (modules, schemas, profiles,
    clients) that live as long as it does. CPython's full collection walks all of them:
    measured in the demo's bridges, 230-500 ms of wall time on the loaded 2-core machine
    (docs/benchmarks.md, issue 17), once or twice a minute, and every message that
    arrived meanwhile waited for it. ``gc.freeze`` moves them to a generation the
    collector never walks; what the loop allocates afterwards is collected as before.
    """
    gc.collect()
    gc.freeze()
