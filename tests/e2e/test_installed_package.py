"""hxbus installed from its repository with ``pip install`` (not editable) into a fresh
virtualenv outside the repository: the default agreement, the Avro schemas and the Shandong
XSD come from the installed package, so ``hxbus validate`` and ``hxbus bridge translate``
work from any directory with no ``HX_AGREEMENT`` set.

The repository's files (tracked and new, as git lists them) are copied first, so that
pip's in-tree build writes its ``build/`` into the copy and never into the checkout.
pip takes the dependencies from PyPI (or PIP_FIND_LINKS and its cache): about 30 s.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPOSITORY = Path(__file__).resolve().parents[2]
FIXTURE = REPOSITORY / "tests" / "fixtures" / "events" / "vehicle_alert_jining.json"
MESSAGE_ID = "2f4d0a63-6a0b-4f7e-8a53-5d1c9e0b7a44"


def _copy_sources(target: Path) -> None:
    """The files git knows (committed or new, not ignored), symlinks kept as symlinks."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPOSITORY,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        name = os.fsdecode(raw)
        source = REPOSITORY / name
        if not source.is_symlink() and not source.exists():
            continue  # deleted in the work tree, not yet committed
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / name, follow_symlinks=False)


def _clean_environment() -> dict[str, str]:
    """No HX_ setting and no PYTHONPATH: nothing may lead back to the checkout."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("HX_") and key not in ("PYTHONPATH", "VIRTUAL_ENV")
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with hxbus pip-installed from a copy of the repository; its bin/."""
    root = tmp_path_factory.mktemp("installed")
    source = root / "source"
    _copy_sources(source)
    environment = root / "venv"
    venv.create(environment, with_pip=False)  # the tests' own pip installs into it (faster)
    bin_dir = environment / "bin"
    pip = [sys.executable, "-m", "pip", "--python", str(bin_dir / "python")]
    install = subprocess.run(
        [*pip, "install", "--quiet", "--no-compile", str(source)],
        cwd=root,
        env=_clean_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert 0 == install.returncode, install.stdout + install.stderr
    shutil.rmtree(source)  # the installed package must not need its source any more
    return bin_dir


def _hxbus(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "hxbus"), *args],
        cwd=cwd,
        env=_clean_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory outside the repository holding a copy of the fixture event."""
    shutil.copy(FIXTURE, tmp_path / FIXTURE.name)
    return tmp_path


def test_the_installed_modules_are_not_the_checkouts(installed: Path, elsewhere: Path) -> None:
    """schemas and bridge are imported from the venv's site-packages, not the repository."""
    found = subprocess.run(
        [
            str(installed / "python"),
            "-c",
            "import schemas, bridge; print(schemas.__file__); print(bridge.__file__)",
        ],
        cwd=elsewhere,
        env=_clean_environment(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert [True, True] == [Path(f).is_relative_to(installed.parent) for f in found]


def test_validate_uses_the_packaged_agreement_and_schemas(installed: Path, elsewhere: Path) -> None:
    """``hxbus validate`` on a fixture event passes with the packaged default agreement."""
    run = _hxbus(installed, elsewhere, "validate", FIXTURE.name)
    assert (0, f"ok {FIXTURE.name}:1 VehicleAlert {MESSAGE_ID}\n") == (run.returncode, run.stdout)


def test_translate_round_trip_uses_the_packaged_xsd(installed: Path, elsewhere: Path) -> None:
    """``bridge translate`` to Shandong XML and back (the outbound side checks the packaged
    XSD) gives the fixture's message again."""
    inbound = _hxbus(
        installed, elsewhere, "bridge", "translate", "--province", "SD",
        "--direction", "inbound", FIXTURE.name,
    )  # fmt: skip
    assert 0 == inbound.returncode, inbound.stderr
    (elsewhere / "local.xml").write_text(inbound.stdout, encoding="utf-8")
    outbound = _hxbus(
        installed, elsewhere, "bridge", "translate", "--province", "SD",
        "--direction", "outbound", "local.xml",
    )  # fmt: skip
    assert 0 == outbound.returncode, outbound.stderr
    event = json.loads(outbound.stdout)
    assert (MESSAGE_ID, "VehicleAlert") == (event["id"], event["type"])
