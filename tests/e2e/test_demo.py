"""The main job: ``hxbus demo`` runs the region and its summary matches what is on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from hxbus.demo import RegionalDemo
from runtime import Settings
from schemas import Agreement

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_demo_delivers_to_every_province_and_counts_match_the_files(
    settings: Settings, agreement: Agreement, tmp_path: Path
) -> None:
    with (tmp_path / "console.txt").open("w") as console:
        demo = RegionalDemo(
            settings,
            agreement,
            root=tmp_path / "hxbus-demo",
            duration_s=4,
            rate=25,
            seed=7,
            console=Console(file=console),
            live=False,
        )
        summary = demo.run()

    assert 100 == sum(summary.published.values())
    assert 0 == summary.refused
    assert summary.drained
    assert summary.delivered == summary.files
    assert all(count > 0 for count in summary.delivered.values()), summary.delivered
    assert not any(role.process.poll() is None for role in demo.roles), "roles left running"
