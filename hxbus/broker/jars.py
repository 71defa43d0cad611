"""The Kafka broker's jars: fetched from Maven Central once, into ``deploy/kafka/lib/``.

The folder (pom, log4j2 files, lib/) is ``HX_KAFKA_DIR``, by default the checkout's
``deploy/kafka``: the broker launcher is a development and test tool that runs from a
checkout, and an installed hxbus (no repository around it) has no such folder, so it must
be named; ``kafka_dir()`` says so instead of failing on a missing pom later.

``deploy/kafka/pom.xml`` pins every version; the jars are a build product (gitignored).
``lib/.pom-sha256`` records which pom they came from, so editing the pom (a Kafka
upgrade) makes the next start fetch again. A file lock keeps two processes (a test run
and a CLI start) from fetching into the same place at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from schemas.errors import ConfigError

#: The default of ``HX_KAFKA_DIR``: ``deploy/kafka`` of the checkout this module is in.
CHECKOUT_KAFKA_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
KAFKA_DIR_VARIABLE = "HX_KAFKA_DIR"
#: A pinned plugin version: Maven 3.8's default maven-dependency-plugin is years old.
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
_MARKER = ".pom-sha256"


def kafka_dir() -> Path:
    """``HX_KAFKA_DIR``, else the checkout's ``deploy/kafka``; ConfigError without a pom."""
    chosen = os.environ.get(KAFKA_DIR_VARIABLE)
    folder = Path(chosen) if chosen else CHECKOUT_KAFKA_DIR
    if not (folder / "pom.xml").is_file():
        origin = KAFKA_DIR_VARIABLE if chosen else f"the default ({KAFKA_DIR_VARIABLE} unset)"
        raise ConfigError(
            f"{origin}: {folder} has no pom.xml; point {KAFKA_DIR_VARIABLE} at a checkout's "
            "deploy/kafka"
        )
    return folder


def lib_dir() -> Path:
    """Where the jars are: ``lib/`` of ``kafka_dir()``."""
    return kafka_dir() / "lib"


def pom_digest() -> str:
    return hashlib.sha256((kafka_dir() / "pom.xml").read_bytes()).hexdigest()


def jars_ready() -> bool:
    """The jars in lib/ are complete and were fetched for the current pom."""
    try:
        return (lib_dir() / _MARKER).read_text().strip() == pom_digest()
    except OSError:
        return False


def java_executable() -> str:
    """``$JAVA_HOME/bin/java`` when set, else ``java`` from PATH; ConfigError when absent."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise ConfigError(
            "java not found: install a JDK 17 or newer "
            "(Debian: apt-get install openjdk-17-jdk-headless)"
        )
    return found


def fetch_jars(*, force: bool = False) -> Path:
    """Copy the broker's runtime jars into ``deploy/kafka/lib/`` with Maven; returns lib/.

    Idempotent: does nothing when the jars match the pom, unless ``force``.
    """
    folder = kafka_dir()
    lib = folder / "lib"
    target = folder / "target"
    target.mkdir(exist_ok=True)
    with (target / "fetch.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if jars_ready() and not force:
            return lib
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ConfigError(
                "mvn not found: install Maven to fetch the Kafka jars "
                "(Debian: apt-get install maven)"
            )
        partial = target / "lib.partial"
        shutil.rmtree(partial, ignore_errors=True)
        argv = [
            mvn, "-B", "-q", "-f", str(folder / "pom.xml"),
            f"{DEPENDENCY_PLUGIN}:copy-dependencies",
            f"-DoutputDirectory={partial}", "-DincludeScope=runtime",
        ]  # fmt: skip
        run = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900)
        if run.returncode != 0:
            output = (run.stdout + run.stderr).strip()
            raise ConfigError(f"fetching the Kafka jars with Maven failed: {output[-1500:]}")
        (partial / _MARKER).write_text(pom_digest() + "\n")
        old = target / "lib.old"
        shutil.rmtree(old, ignore_errors=True)
        if lib.exists():
            lib.rename(old)
        partial.rename(lib)
        shutil.rmtree(old, ignore_errors=True)
    return lib


def ensure_jars() -> Path:
    """lib/ with the jars, fetching them first if they are missing or stale."""
    return lib_dir() if jars_ready() else fetch_jars()
