"""The demo's role subprocesses (``hxbus bridge run``, ``tracker run``, ``lookup-service``):
started with their own login and a new group at the topics' end, awaited, stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bridge.workers import worker_metrics_port
from consumers.offsets import start_group_at_end
from hxbus.healthz_wait import wait_healthy
from runtime import Settings
from schemas.errors import ConfigError


@dataclass
class Role:
    """One subprocess the demo started: a bridge, the tracker or the lookup service."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    group: str
    topics: list[str]
    port: int
    #: Worker processes (a bridge run with ``--workers``; each serves its own /metrics).
    workers: int = 1

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    @property
    def metrics_urls(self) -> list[str]:
        """Every worker's /metrics (worker K on the port + 10 x (K - 1))."""
        ports = (worker_metrics_port(self.port, k) for k in range(1, self.workers + 1))
        return [f"http://127.0.0.1:{port}/metrics" for port in ports]


def role_env(settings: Settings) -> dict[str, str]:
    """The environment of a role subprocess that logs in as ``settings`` does."""
    env = {
        **os.environ,
        "HX_BOOTSTRAP": settings.bootstrap,
        "HX_AGREEMENT": str(settings.agreement),
        "HX_STATE_DIR": str(settings.state_dir),
    }
    for name in ("HX_SASL_USERNAME", "HX_SASL_PASSWORD", "HX_SECURITY_PROTOCOL"):
        env.pop(name, None)
    if settings.sasl_username and settings.sasl_password:
        env["HX_SASL_USERNAME"] = settings.sasl_username
        env["HX_SASL_PASSWORD"] = settings.sasl_password.get_secret_value()
    return env


def start_role(
    settings: Settings,
    logs: Path,
    name: str,
    group: str,
    topics: list[str],
    port: int,
    argv: list[str],
    env: dict[str, str],
    workers: int = 1,
) -> Role:
    """``hxbus <argv> --metrics-port <port>`` in its own session, its output in
    ``<logs>/<name>.log``; ``group`` first moved to the end of ``topics``."""
    # A new group starts at the end of the topics: this run's traffic only.
    start_group_at_end(settings, group, topics)
    log = logs / f"{name.replace(' ', '-')}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # our own interpreter and module
            [sys.executable, "-m", "hxbus", *argv, "--metrics-port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C reaches the demo; the demo stops them
        )
    return Role(name, process, log, group, topics, port, workers)


def wait_ready(roles: list[Role], timeout_s: float = 90.0) -> None:
    """Every role's /healthz answers 200 (connected and assigned), or a clear error."""
    wait_healthy(
        roles,
        lambda role: (
            None
            if role.process.poll() is None
            else ConfigError(f"{role.name} exited with {role.process.returncode}; see {role.log}")
        ),
        timeout_s,
        interval_s=0.2,
    )


def stop_roles(roles: list[Role]) -> None:
    """SIGTERM to every role's session, then SIGKILL to those not gone within 30 s."""
    for role in roles:
        if role.process.poll() is None:
            os.killpg(role.process.pid, signal.SIGTERM)
    for role in roles:
        try:
            role.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(role.process.pid, signal.SIGKILL)
            role.process.wait()
