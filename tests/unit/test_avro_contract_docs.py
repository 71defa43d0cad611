"""docs/contract.md: rendered from the schemas, committed, and kept fresh."""

from __future__ import annotations

from pathlib import Path

import pytest
from schemas_cli import run_cli

from schemas import CONTRACT_DOC, render_contract, repository_catalog


def test_committed_contract_md_is_a_fresh_render() -> None:
    """The committed docs/contract.md equals a render of the current schemas."""
    committed = CONTRACT_DOC.read_text(encoding="utf-8")
    fresh = render_contract(repository_catalog())
    assert fresh == committed, "docs/contract.md is stale: run `hxbus schemas docs`"


def test_every_field_path_is_documented() -> None:
    """Nested fields appear with their dotted path, type, presence and doc."""
    rendered = render_contract(repository_catalog())
    row = (
        "| `subject.photos[].sha256` | string | required | SHA-256 of the image file, 64 "
        "lower-case hex characters, to check the fetched copy. |"
    )
    assert 1 == rendered.count(row)


def test_every_enum_lists_symbols_and_default() -> None:
    """Each enum section lists its symbols and its default."""
    rendered = render_contract(repository_catalog())
    expected = (
        "Symbols: `IMMEDIATE`, `URGENT`, `ROUTINE`, `UNKNOWN`.\n"
        "Default (what a reader reads for a symbol it does not know): `UNKNOWN`."
    )
    assert 1 == rendered.count(expected)


def test_cli_docs_writes_the_render(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`hxbus schemas docs --out FILE` writes exactly the render."""
    out = tmp_path / "contract.md"
    status = run_cli(["schemas", "docs", "--out", str(out)])
    capsys.readouterr()
    expected = (0, render_contract(repository_catalog()))
    assert expected == (status, out.read_text(encoding="utf-8"))
