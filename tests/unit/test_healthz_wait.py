"""hxbus.healthz_wait: the demo's and the drill's wait for their roles' /healthz."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from hxbus.healthz_wait import wait_healthy
from schemas.errors import BrokerUnavailable, ConfigError, HxError


@dataclass
class _Role:
    name: str
    port: int


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def healthy_port() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _alive(role: _Role) -> HxError | None:
    return None


def test_returns_once_every_role_answers_200(healthy_port: int) -> None:
    """Roles whose /healthz answers 200 end the wait without an error."""
    roles = [_Role("bridge-JS", healthy_port), _Role("tracker", healthy_port)]
    expected = None
    actual = wait_healthy(roles, _alive, timeout_s=5.0, interval_s=0.01)
    assert expected == actual


def test_a_role_that_exited_raises_the_callers_error(healthy_port: int) -> None:
    """What ``exited`` returns for a role that is gone is raised as it is."""
    gone = ConfigError("tracker exited with 1; see tracker.log")
    with pytest.raises(ConfigError) as raised:
        wait_healthy([_Role("tracker", healthy_port)], lambda role: gone, 5.0, 0.01)
    assert raised.value is gone


def test_a_role_never_ready_is_named_after_the_timeout(healthy_port: int) -> None:
    """A role nobody answers for is named in BrokerUnavailable once the time is up."""
    roles = [_Role("bridge-SD", _closed_port()), _Role("tracker", healthy_port)]
    with pytest.raises(BrokerUnavailable) as raised:
        wait_healthy(roles, _alive, timeout_s=0.0, interval_s=0.01)
    assert str(raised.value) == "bridge-SD not ready after 0 s"
