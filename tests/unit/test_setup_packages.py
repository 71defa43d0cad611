"""scripts/setup finds the Debian packages a run needs by what is on PATH.

Prometheus cannot be uninstalled on a shared machine to try a fresh one, so these tests
give scripts/setup a PATH that lacks some commands (a directory of links to every command
of the real PATH but those) and read what it would install (``--dry-run``), and what it
tells a user who is not root. Nothing is installed by these tests.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


#: Stand-ins for the commands scripts/setup checks, so the tests do not depend on this machine.
PRESENT = {
    "java": "echo '    java.specification.version = 17' >&2",
    "mvn": "exit 0",
    "promtool": "exit 0",
    "chromium": "exit 0",
}


def _path_without(tmp_path: Path, *absent: str, fakes: dict[str, str] | None = None) -> str:
    """A one-directory PATH with every command of the current PATH, the stand-ins and
    ``fakes``, except ``absent``."""
    fakes = {**{k: v for k, v in PRESENT.items() if k not in absent}, **(fakes or {})}
    shadow = tmp_path / "bin"
    shadow.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            link = shadow / entry.name
            if entry.name in absent or link.exists() or not os.access(entry.path, os.X_OK):
                continue
            link.symlink_to(entry.path)
    for name, script in fakes.items():
        fake = shadow / name
        fake.unlink(missing_ok=True)
        fake.write_text(f"#!/bin/sh\n{script}\n")
        fake.chmod(0o755)
    return str(shadow)


def _setup(path: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup"), *args],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_dry_run_names_prometheus_when_promtool_is_absent(tmp_path: Path) -> None:
    """Without promtool on PATH, --dry-run would install prometheus, and only that."""
    done = _setup(_path_without(tmp_path, "promtool"), "--dry-run")
    assert (0, "setup: would install: prometheus") == (done.returncode, done.stdout.splitlines()[0])


def test_dry_run_names_every_missing_package_in_one_command(tmp_path: Path) -> None:
    """Without mvn and promtool, one apt-get command installs maven and prometheus."""
    done = _setup(_path_without(tmp_path, "promtool", "mvn"), "--dry-run")
    assert [
        "setup: would install: maven prometheus",
        "setup: command: apt-get update && "
        "apt-get install -y --no-install-recommends maven prometheus",
    ] == done.stdout.splitlines()


def test_without_root_setup_stops_and_names_what_to_install(tmp_path: Path) -> None:
    """Not root and no sudo: setup exits 1 naming the packages and the command, changing nothing."""
    path = _path_without(tmp_path, "promtool", "sudo", fakes={"id": "echo 1000"})
    done = _setup(path)
    assert (
        1,
        "setup: missing Debian packages: prometheus; as root run: apt-get update && "
        "apt-get install -y --no-install-recommends prometheus",
    ) == (done.returncode, done.stderr.strip())
