"""The Anhui bridge's HTTP sink against a real local HTTP server that fails for a while
(issue 6, "What must show"): every event reaches the server exactly once.

The server (``http.server``, threaded, in this process) answers 503 for the first
seconds after its first request, then 201 for a new ``Idempotency-Key`` and 409 for one it
already has, as the Anhui ICD's receiver does. The bridge runs as ``hxbus bridge run
--province AH --sink http`` in a subprocess; it is stopped with SIGTERM once the server
has every event of the test (other traffic on the shared topics keeps it busy).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from e2e_bridge_support import prepare_groups, publish_all, shared_alerts, start_bridge, stop_when

from runtime import Settings
from schemas import Agreement

pytestmark = pytest.mark.broker

#: Seconds the server answers 503, counted from its first request.
FAILING_S = 3.0
EVENTS = 20


class LocalSystem:
    """What the fake Anhui system saw: every request (status given), and what it kept."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first_request: float | None = None
        #: (Idempotency-Key, body, status answered) of every POST.
        self.requests: list[tuple[str, bytes, int]] = []
        self.kept: dict[str, bytes] = {}

    def answer(self, key: str, body: bytes) -> int:
        with self.lock:
            now = time.monotonic()
            if self.first_request is None:
                self.first_request = now
            if now - self.first_request < FAILING_S:
                status = 503
            elif key in self.kept:
                status = 409
            else:
                self.kept[key] = body
                status = 201
            self.requests.append((key, body, status))
            return status


def serve(system: LocalSystem) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = system.answer(self.headers.get("Idempotency-Key") or "", body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            """Quiet: the test asserts on what the system recorded."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_http_sink_delivers_every_event_exactly_once_through_503s(
    settings: Settings,
    agreement: Agreement,
    unique_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    """Each event is kept once by the server: once per Idempotency-Key, once per body."""
    group = unique_name("g-ah-http")
    prepare_groups(settings, agreement, {"AH": group})
    alerts = shared_alerts(agreement, "JS")  # Jiangsu's, so Anhui receives each
    events = [next(alerts) for _ in range(EVENTS)]
    publish_all(settings, agreement, events)
    ours = {e.envelope.message_id for e in events}

    system = LocalSystem()
    server = serve(system)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hx/events"
        bridge = start_bridge(
            settings, "AH", tmp_path / "ah", group, "--sink", "http", "--url", url
        )
        stop_when(lambda: not ours - system.kept.keys(), [bridge])
    finally:
        server.shutdown()
        server.server_close()

    mine = [(k, body, status) for k, body, status in system.requests if k in ours]
    accepted = [(k, body) for k, body, status in mine if status == 201]
    assert sorted(ours) == sorted(k for k, _ in accepted)
    assert {} == {k: n for k, n in Counter(k for k, _ in accepted).items() if n != 1}
    assert {} == {b: n for b, n in Counter(b for _, b in accepted).items() if n != 1}
    assert ours == {json.loads(body)["msg_id"] for _, body in accepted}
    # The server did fail first: the bridge retried the 503s rather than dropping them.
    assert any(status == 503 for _, _, status in mine)
