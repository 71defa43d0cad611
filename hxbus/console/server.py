"""Serving the console with uvicorn, in a thread (the demo) or in the foreground (the command).

Binds 127.0.0.1 unless told otherwise: the console shows the region's traffic and
lets an operator act, so it is not put on a network by accident. Its own access log is
off (uvicorn's would hold every URL; the console's URLs hold nothing personal, but the
log would hold nothing useful either); warnings and errors still go to stderr.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from hxbus.console.exchange_console import ExchangeConsole
from hxbus.console.web import console_app
from schemas.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


class ConsoleServer:
    """One uvicorn server of one console."""

    def __init__(
        self, console: ExchangeConsole, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
    ) -> None:
        _check_free(host, port)
        self.console = console
        self.host, self.port = host, port
        config = uvicorn.Config(
            console_app(console),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self, timeout_s: float = 10.0) -> None:
        """Serve in a daemon thread; returns once the socket listens."""
        self._thread = threading.Thread(target=self._server.run, name="console-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"console: could not serve on {self.url}")
            time.sleep(0.05)

    def run(self) -> None:
        """Serve in this thread until Ctrl-C or SIGTERM."""
        self._server.run()

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.console.close()


def _check_free(host: str, port: int) -> None:
    """ConfigError naming the port when another process holds it (before any thread starts)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"console port {port} on {host}: {exc.strerror or exc}; choose another with "
                "--console-port (demo) or --port (console)"
            ) from None
