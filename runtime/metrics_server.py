"""The ``/metrics`` and ``/healthz`` endpoint every long-running role serves.

prometheus-client's own ``start_http_server`` answers only ``/metrics``; the ops team's
probes also need ``/healthz``, which says ready (200) only while the role is connected
and assigned, and 503 otherwise. One small threaded HTTP server serves both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

#: Endpoints running in this process: work that only matters to a scraper (reading the
#: consumer lag from the broker) is done only while one runs (see ``serving``).
_running: set[MetricsServer] = set()
_running_lock = threading.Lock()


class MetricsServer:
    """A running endpoint; :meth:`stop` shuts it down. ``port`` is the bound port."""

    def __init__(self, server: ThreadingHTTPServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        with _running_lock:
            _running.add(self)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def stop(self) -> None:
        with _running_lock:
            _running.discard(self)
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serving() -> bool:
    """True while this process serves ``/metrics`` (a scraper may read what it computes)."""
    with _running_lock:
        return bool(_running)


def start_metrics_server(
    port: int, *, host: str = "127.0.0.1", ready: Callable[[], bool] = lambda: True
) -> MetricsServer:
    """Serve ``/metrics`` and ``/healthz`` on ``host:port`` (port 0 = any free port)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY))
            elif path == "/healthz":
                ok = ready()
                self._answer(200 if ok else 503, "text/plain", b"ok\n" if ok else b"not ready\n")
            else:
                self._answer(404, "text/plain", b"not found\n")

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Scrapes every few seconds would flood the log; stay quiet."""

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    return MetricsServer(server, thread)
