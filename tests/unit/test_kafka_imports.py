"""Only the Kafka boundary (runtime/kafka/) and its own tests import a Kafka client (issue 21)."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLIENTS = ("kafka", "confluent_kafka")
#: Outside runtime/kafka/: the boundary's own tests, and the raw clients tests use to act
#: as an outsider (a partner's plain client, the read_uncommitted view hxbus never has).
ALLOWED = frozenset(
    {
        "tests/raw_kafka.py",
        "tests/unit/test_broker_probe.py",
        "tests/unit/test_kafka_boundary.py",
        "tests/unit/test_kafka_partitioner.py",
        "tests/unit/test_kafka_private_parts.py",
        "tests/unit/test_librdkafka_config.py",
    }
)
#: Not the project's sources: the virtualenv, and what demos and builds leave behind.
SKIPPED = frozenset({".venv", ".git", "build", "hxbus-demo", ".hxbus", "hxbus.egg-info"})


def _client_imports(path: Path) -> list[str]:
    """The Kafka client modules ``path`` imports (at any depth of the module)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found += [n for n in names if n.split(".")[0] in CLIENTS]
    return found


def _python_sources() -> list[Path]:
    """The repository's tracked Python files: a profiler's or an editor's scratch copy in
    the work tree is not a source (a checkout without git: every file outside SKIPPED)."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--", "*.py"],
        capture_output=True,
        check=False,
    )
    if listed.returncode == 0:
        names = listed.stdout.decode().split("\0")
        return [REPO / name for name in names if name and (REPO / name).exists()]
    return [
        path for path in REPO.rglob("*.py") if not SKIPPED & set(path.relative_to(REPO).parts[:-1])
    ]


def test_only_the_boundary_and_its_tests_import_a_kafka_client() -> None:
    """A search of the Python sources for kafka / confluent_kafka imports lists only
    runtime/kafka/, its own tests and the outsiders' raw clients."""
    importing = {
        path.relative_to(REPO).as_posix() for path in _python_sources() if _client_imports(path)
    }
    outside = sorted(p for p in importing if not p.startswith("runtime/kafka/"))
    assert sorted(ALLOWED & importing) == outside


def test_the_search_sees_the_boundary() -> None:
    """The search finds both transports' imports (it does look)."""
    transports = ["runtime/kafka/kafka_python_connection.py", "runtime/kafka/librdkafka_errors.py"]
    assert [True, True] == [bool(_client_imports(REPO / p)) for p in transports]
