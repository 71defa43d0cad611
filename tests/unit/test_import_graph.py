"""The import graph runs one way: schemas ← runtime ← producers, consumers, bridge ← hxbus,
and inside consumers/ the runtime never imports the roles built on it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Each top-level package's layer: a module imports only from its own layer or below.
LAYERS = {
    "schemas": 0,
    "runtime": 1,
    "producers": 2,
    "consumers": 2,
    "bridge": 2,
    "hxbus": 3,
    "bench": 3,
}

#: The imports allowed between packages of one layer (importer, imported). bench and hxbus
#: know each other: ``hxbus bench`` runs the harness, and the harness drives the demo's
#: roles (``hxbus.demo``) to measure them.
SIDEWAYS = {
    ("bridge", "producers"),
    ("bridge", "consumers"),
    ("hxbus", "bench"),
    ("bench", "hxbus"),
}

#: The role packages inside consumers/, and the imports allowed between them.
ROLES = ("alert_register", "lookup", "tracker")
ROLE_SIDEWAYS = {("lookup", "alert_register")}


def imported_modules(path: Path) -> Iterator[str]:
    """Every absolute module name ``path`` imports, at any depth (lazy imports too)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def role_of(path: Path) -> str | None:
    """The consumers/ role package ``path`` belongs to; None for the runtime."""
    parts = path.relative_to(ROOT / "consumers").parts
    return parts[0] if len(parts) > 1 and parts[0] in ROLES else None


def role_named(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "consumers" and len(parts) > 1 and parts[1] in ROLES else None


def test_no_package_imports_from_a_layer_above_it() -> None:
    """No module imports a package of a higher layer, or a same-layer one not listed."""
    wrong = []
    for package, layer in LAYERS.items():
        for path in sources(package):
            for module in imported_modules(path):
                top = module.split(".")[0]
                if top not in LAYERS or top == package:
                    continue
                allowed = LAYERS[top] < layer or (package, top) in SIDEWAYS
                if not allowed:
                    wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert [] == wrong


def test_consumer_runtime_never_imports_a_role() -> None:
    """consumers/*.py (the runtime) imports no role package; roles import each other only
    where listed."""
    wrong = []
    for path in sources("consumers"):
        mine = role_of(path)
        for module in imported_modules(path):
            theirs = role_named(module)
            if theirs is None or theirs == mine:
                continue
            if mine is None or (mine, theirs) not in ROLE_SIDEWAYS:
                wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert [] == wrong


def test_the_roles_are_packages_beside_the_runtime() -> None:
    """Each role is a package under consumers/, and no role module is left beside the
    runtime's."""
    expected = ([True] * len(ROLES), [])
    packages = [(ROOT / "consumers" / role / "__init__.py").is_file() for role in ROLES]
    leftovers = [role for role in ROLES if (ROOT / "consumers" / f"{role}.py").exists()]
    assert expected == (packages, leftovers)
