"""The local system behind the HTTP sink in the drill: takes POSTs, and fails when told.

It behaves as the Anhui and Jiangsu ICDs ask of a local system: a POST whose
``Idempotency-Key`` it has not seen is stored (a line in its log, fsynced, before the
answer) and answered 201; a key it has is answered 409 ("already have it"). The drill
switches its mode while traffic flows:

- ``ok``: as above;
- ``unavailable``: every POST is answered 503 and nothing is stored;
- ``hang``: the POST is stored, then the answer is held back until the mode changes —
  past the sink's read timeout, so the sink never hears that the message was taken and
  must send it again: the 409 it then gets is what keeps the local system from holding it
  twice.

The log (one JSON object a line: key, time, stored or repeat) is what the drill's checker
reads; it is the local system's record, not the bridge's.
"""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

MODES = ("ok", "unavailable", "hang")


class LocalSystem:
    """The receiver's state: its mode, the keys it holds, its log."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._keys: set[str] = set()
        self._mode = "ok"
        self.answered: dict[int, int] = {}
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("a", encoding="utf-8")

    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        with self._changed:
            self._mode = mode
            self._changed.notify_all()

    def take(self, key: str) -> int:
        """Handle one POST; returns the status to answer (after any hang)."""
        with self._changed:
            mode = self._mode
            if mode == "unavailable":
                return self._count(503)
            repeat = key in self._keys
            self._keys.add(key)
            self._write({"key": key, "at": time.time(), "stored": not repeat})
            if mode == "hang":
                # Taken, but the answer is held back until the drill ends the hang.
                self._changed.wait_for(lambda: self._mode != "hang", timeout=600)
            return self._count(409 if repeat else 201)

    def close(self) -> None:
        with self._lock:
            self._log.close()

    def _count(self, status: int) -> int:
        self.answered[status] = self.answered.get(status, 0) + 1
        return status

    def _write(self, entry: dict[str, Any]) -> None:
        self._log.write(json.dumps(entry) + "\n")
        self._log.flush()
        os.fsync(self._log.fileno())


class _Handler(BaseHTTPRequestHandler):
    system: ClassVar[LocalSystem]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        key = self.headers.get("Idempotency-Key") or ""
        status = 400 if not key else self.system.take(key)
        try:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:
            pass  # the sink gave up waiting (the hang): nobody is listening any more

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the log file is the record."""


class Receiver:
    """The HTTP server on 127.0.0.1:``port``, served from a thread of the drill."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.system = LocalSystem(log_path)
        handler = type("DrillHandler", (_Handler,), {"system": self.system})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/inbox"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.system.set_mode("ok")  # release any held answer
        self._server.shutdown()
        self._server.server_close()
        self.system.close()


def read_log(path: Path) -> list[dict[str, Any]]:
    """The receiver's log lines (a torn last line, if any, is left out)."""
    entries = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries
