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
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from e2e_bridge_support import finish, start_bridge

from bridge import bridge_topics
from consumers.offsets import start_group_at_end
from producers import Publisher, SyntheticTraffic
from runtime import Settings, run_provisioning
from schemas import Agreement, ExchangeEvent

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


def partner_alerts(agreement: Agreement) -> Iterator[ExchangeEvent]:
    """Fresh alerts of Jiangsu agencies shared with every partner: Anhui receives each."""
    jiangsu = {a.id for a in agreement.agencies_of("JS")}
    traffic = SyntheticTraffic(agreement, seed=random.randrange(2**31), start=datetime.now(UTC))
    for event in traffic:
        if (
            event.event_type in ("PersonAlert", "VehicleAlert")
            and event.envelope.source in jiangsu
            and event.record["handling"] == "SHARE_ALL_PARTNERS"
        ):
            yield event


def test_http_sink_delivers_every_event_exactly_once_through_503s(
    settings: Settings,
    agreement: Agreement,
    unique_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    """Each event is kept once by the server: once per Idempotency-Key, once per body."""
    run_provisioning(settings, agreement)
    group = unique_name("g-ah-http")
    start_group_at_end(settings, group, bridge_topics(agreement, "AH"))
    alerts = partner_alerts(agreement)
    events = [next(alerts) for _ in range(EVENTS)]
    with Publisher(settings, agreement) as publisher:
        outcomes = list(publisher.publish_many(events))
    assert [] == [o.error for o in outcomes if not o.ok]
    ours = {e.envelope.message_id for e in events}

    system = LocalSystem()
    server = serve(system)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hx/events"
        bridge = start_bridge(
            settings, "AH", tmp_path / "ah", group, "--sink", "http", "--url", url
        )
        deadline = time.monotonic() + 45
        while ours - system.kept.keys() and time.monotonic() < deadline:
            time.sleep(0.3)
        bridge.process.send_signal(signal.SIGTERM)
        finish(bridge, timeout=30)
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
