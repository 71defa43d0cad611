"""Formatting a secured node's storage keeps the admin password off the command line.

``/proc/<pid>/cmdline`` is readable by every local user: the StorageTool's arguments
(with ``--add-scram``) go through a 0600 ``java @file`` instead, removed after the run.
"""

from __future__ import annotations

import stat
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hxbus import broker
from hxbus.broker import processes


class _Done:
    """Stands in for the StorageTool JVM: records what it was given, exits 0."""

    returncode = 0

    def communicate(self, timeout: float) -> tuple[bytes, None]:
        return b"Formatting", None


def test_admin_password_travels_in_a_0600_argument_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = broker.plan_cluster(tmp_path / "broker", nodes=1, port=9192, cluster_id="abc")
    cluster = replace(cluster, secure=True)
    password = broker.ensure_admin_password(cluster.root)
    seen: dict[str, Any] = {}

    def popen(argv: list[str], **_kwargs: Any) -> _Done:
        argument_file = Path(argv[-1].removeprefix("@"))
        seen["argv"] = argv
        seen["mode"] = stat.S_IMODE(argument_file.stat().st_mode)
        seen["lines"] = argument_file.read_text().splitlines()
        return _Done()

    monkeypatch.setattr(subprocess, "Popen", popen)
    processes.format_storage(cluster, cluster.nodes)
    scram = f'"SCRAM-SHA-512=[name=admin,password={password}]"'
    assert (False, 0o600, ['"kafka.tools.StorageTool"', '"format"'], scram, []) == (
        any(password in argument for argument in seen["argv"]),
        seen["mode"],
        seen["lines"][:2],
        seen["lines"][-1],
        list(cluster.nodes[0].directory.glob("*.args")),
    )
