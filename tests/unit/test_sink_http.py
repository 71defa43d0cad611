"""The HTTP sink against a real local HTTP server: retries, duplicates, rejections."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bridge.profiles.base import LocalMessage
from bridge.sinks import DeliveryOutcome, HttpSink
from schemas import Envelope
from schemas.errors import SinkRejected, SinkUnavailable

MESSAGE_ID = "0b9e5d1e-8a53-4c1e-b0f4-7d1d5a0c2e31"
MEDIA_TYPE = "application/json; charset=utf-8"


@dataclass
class LocalSystem:
    """What the fake local system was told and how it should answer."""

    unavailable_for: int = 0
    stall_s: float = 0.0
    stored: dict[str, bytes] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)
    client_ports: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def make_handler(system: LocalSystem) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is visible

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            key = self.headers.get("Idempotency-Key", "")
            with system.lock:
                system.requests.append(dict(self.headers))
                system.client_ports.append(self.client_address[1])
                if system.unavailable_for > 0:
                    system.unavailable_for -= 1
                    status = 503
                elif self.path == "/bad":
                    status = 400
                elif key in system.stored:
                    status = 409
                else:
                    system.stored[key] = body
                    status = 201
            time.sleep(system.stall_s)
            answer = f"status {status}".encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test asserts on what the system recorded instead."""

    return Handler


@pytest.fixture
def local_system() -> Iterator[tuple[LocalSystem, str]]:
    system = LocalSystem()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(system))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield system, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def message(content: bytes = b'{"msg_id": "x"}') -> LocalMessage:
    return LocalMessage(f"{MESSAGE_ID}.json", content, MEDIA_TYPE)


def envelope() -> Envelope:
    return Envelope(event_type="PersonAlert", source="340600000000", message_id=MESSAGE_ID)


def test_503_is_retriable_then_201_delivers_with_idempotency_key(
    local_system: tuple[LocalSystem, str],
) -> None:
    """While the system answers 503 the sink raises SinkUnavailable; then it delivers."""
    system, base = local_system
    system.unavailable_for = 2
    with HttpSink(f"{base}/inbox") as sink:
        failures = []
        for _ in range(2):
            with pytest.raises(SinkUnavailable) as caught:
                sink.deliver(message(b"body-1"), envelope())
            failures.append((caught.value.retriable, "HTTP 503" in str(caught.value)))
        result = sink.deliver(message(b"body-1"), envelope())
    assert [(True, True), (True, True)] == failures
    assert (DeliveryOutcome.DELIVERED, "HTTP 201") == (result.outcome, result.detail)
    assert {MESSAGE_ID: b"body-1"} == system.stored
    last = system.requests[-1]
    assert (MEDIA_TYPE, MESSAGE_ID) == (last["Content-Type"], last["Idempotency-Key"])


def test_409_for_a_repeat_counts_as_duplicate(local_system: tuple[LocalSystem, str]) -> None:
    """A message the system already has (409) is reported as a duplicate, not an error."""
    system, base = local_system
    with HttpSink(f"{base}/inbox") as sink:
        first = sink.deliver(message(), envelope())
        second = sink.deliver(message(), envelope())
    assert [DeliveryOutcome.DELIVERED, DeliveryOutcome.DUPLICATE] == [
        first.outcome,
        second.outcome,
    ]
    assert 1 == len(system.stored)


def test_400_is_rejected_for_the_dlq(local_system: tuple[LocalSystem, str]) -> None:
    """A 4xx other than 409 raises SinkRejected (not retriable) naming the status."""
    _system, base = local_system
    with HttpSink(f"{base}/bad") as sink, pytest.raises(SinkRejected) as caught:
        sink.deliver(message(), envelope())
    assert (False, True) == (caught.value.retriable, "HTTP 400" in str(caught.value))


def test_read_timeout_is_retriable(local_system: tuple[LocalSystem, str]) -> None:
    """A system slower than the read timeout raises SinkUnavailable."""
    system, base = local_system
    system.stall_s = 1.0
    with HttpSink(f"{base}/inbox", read_timeout=0.2) as sink, pytest.raises(SinkUnavailable) as e:
        sink.deliver(message(), envelope())
    assert (True, True) == (e.value.retriable, "timed out" in str(e.value))


def test_connection_refused_is_retriable() -> None:
    """A local system that is down (nothing listens) raises SinkUnavailable."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/inbox"
    with HttpSink(url, connect_timeout=1.0) as sink, pytest.raises(SinkUnavailable) as caught:
        sink.deliver(message(), envelope())
    assert True is caught.value.retriable


def test_one_connection_serves_many_deliveries(local_system: tuple[LocalSystem, str]) -> None:
    """The sink keeps one client, so consecutive POSTs reuse one TCP connection."""
    system, base = local_system
    with HttpSink(f"{base}/inbox") as sink:
        for number in range(3):
            sink.deliver(message(), Envelope("PersonAlert", "340600000000", f"{number}"))
    assert (3, 1) == (len(system.client_ports), len(set(system.client_ports)))


def test_destination_names_the_url_without_query_or_credentials(
    local_system: tuple[LocalSystem, str],
) -> None:
    """The destination recorded for the audit never carries a password or a query."""
    _system, base = local_system
    port = base.rsplit(":", 1)[1]
    with HttpSink(f"http://user:secret@127.0.0.1:{port}/inbox?token=abc") as sink:
        result = sink.deliver(message(), envelope())
    assert f"http://127.0.0.1:{port}/inbox" == result.destination
