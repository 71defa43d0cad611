"""``hxbus bridge run --http-timeout S``: the HTTP sink waits S seconds for the local
system's answer (the drill hangs its receiver past it); 0 or less is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.runner import SinkChoice
from hxbus.cli import main


def test_the_http_sink_gets_the_timeout_asked_for() -> None:
    """SinkChoice(http_timeout=2.5) builds an HttpSink whose read timeout is 2.5 s."""
    sink = SinkChoice("http", url="http://127.0.0.1:9/inbox", http_timeout=2.5).build()
    try:
        read_timeout = sink._client.timeout.read  # type: ignore[attr-defined]
    finally:
        sink.close()
    assert 2.5 == read_timeout


def test_a_timeout_of_zero_is_refused_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--http-timeout 0: exit 2 and the message names --http-timeout and the rule."""
    status = main(
        [
            "bridge", "run", "--province", "AH", "--root", str(tmp_path), "--sink", "http",
            "--url", "http://127.0.0.1:9/inbox", "--http-timeout", "0",
        ]
    )  # fmt: skip
    message = capsys.readouterr().err.strip()
    assert (2, "hxbus: --http-timeout: must be more than 0 seconds, not 0") == (status, message)
