"""The Kafka broker's jars: fetched from Maven Central once, into ``deploy/kafka/lib/``.

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

KAFKA_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
LIB_DIR = KAFKA_DIR / "lib"
#: A pinned plugin version: Maven 3.8's default maven-dependency-plugin is years old.
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
_MARKER = ".pom-sha256"


def pom_digest() -> str:
    return hashlib.sha256((KAFKA_DIR / "pom.xml").read_bytes()).hexdigest()


def jars_ready() -> bool:
    """The jars in lib/ are complete and were fetched for the current pom."""
    try:
        return (LIB_DIR / _MARKER).read_text().strip() == pom_digest()
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
    target = KAFKA_DIR / "target"
    target.mkdir(exist_ok=True)
    with (target / "fetch.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if jars_ready() and not force:
            return LIB_DIR
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ConfigError(
                "mvn not found: install Maven to fetch the Kafka jars "
                "(Debian: apt-get install maven)"
            )
        partial = target / "lib.partial"
        shutil.rmtree(partial, ignore_errors=True)
        argv = [
            mvn, "-B", "-q", "-f", str(KAFKA_DIR / "pom.xml"),
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
        if LIB_DIR.exists():
            LIB_DIR.rename(old)
        partial.rename(LIB_DIR)
        shutil.rmtree(old, ignore_errors=True)
    return LIB_DIR


def ensure_jars() -> Path:
    """lib/ with the jars, fetching them first if they are missing or stale."""
    return LIB_DIR if jars_ready() else fetch_jars()
