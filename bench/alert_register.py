"""The alert register's snapshot brought up to date before a section, as a deployment's
``hxbus alert-register run`` role keeps it.

A bridge that meets a hit on an alert its group has not seen loads the alert register:
the compacted register topic (the snapshot) plus the alert topics' records after it (the
tail). A deployment runs the register role, so the tail is short. The bench's broker has
no such role: by the latency section it holds every earlier section's alerts as a tail
(15,127 records in a quick run, ~216,000 in a full one), and the latency section's bridge,
which starts at the topics' ends and so knows no earlier alert, retried its hits
(``alert_unknown``) while it read that tail, inside the measured steps
(``register_snapshot_behind``: "is `hxbus alert-register run` running?").

So before that section the register role runs once (``hxbus alert-register run
--until-idle``, the settings' register group: each run goes on from the last), apart
from what is measured, as a deployment's would have run all along; it is bounded
(``TIMEOUT_S``) and ends in ``BenchFailed`` if it does not finish.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from bench.processes import HXBUS, role_env
from runtime import Settings
from schemas.errors import BenchFailed

#: Seconds without an alert record after which the register role stops by itself.
IDLE_S = 2.0
#: The longest catch-up allowed (a full run's ~216,000 records take well under this).
TIMEOUT_S = 600.0


def catch_up_register(settings: Settings, workdir: Path) -> dict[str, Any]:
    """Run the register role until idle; how long it took and its summary line."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "alert-register.log"
    argv = [*HXBUS, "alert-register", "run", "--until-idle", f"{IDLE_S:g}", "--metrics-port", "0"]
    env = role_env(settings, log_level="WARNING")
    began = time.monotonic()
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT, env=env)
        try:
            process.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise BenchFailed(
                f"the alert register did not catch up within {TIMEOUT_S:.0f} s"
            ) from None
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    text = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    if process.returncode != 0:
        raise BenchFailed(
            f"the alert register exited with {process.returncode}: {' | '.join(text[-3:])}"
        )
    summary = next((line for line in reversed(text) if line.startswith("alert register:")), "")
    return {"seconds": round(time.monotonic() - began, 1), "summary": summary}
