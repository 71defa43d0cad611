"""Waiting for role processes to be ready: each one's ``/healthz`` answers 200.

The demo and the drill start their roles (bridges, tracker, publisher…) as subprocesses
and wait for them the same way; each says what a role that exited means to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

import httpx

from schemas.errors import BrokerUnavailable, HxError


class ServedRole(Protocol):
    """A started role: its name, and the port its /metrics and /healthz are served on."""

    @property
    def name(self) -> str: ...

    @property
    def port(self) -> int: ...


RoleT = TypeVar("RoleT", bound=ServedRole)


def wait_healthy(
    roles: Sequence[RoleT],
    exited: Callable[[RoleT], HxError | None],
    timeout_s: float,
    interval_s: float,
) -> None:
    """Return once every role's /healthz on 127.0.0.1 answers 200 (connected, partitions
    held); raise what ``exited`` gives for a role that is gone, or ``BrokerUnavailable``
    naming those not ready after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    waiting = list(roles)
    with httpx.Client(timeout=1.0) as client:
        while waiting:
            for role in list(waiting):
                failure = exited(role)
                if failure is not None:
                    raise failure
                try:
                    if client.get(f"http://127.0.0.1:{role.port}/healthz").status_code == 200:
                        waiting.remove(role)
                except httpx.HTTPError:
                    pass
            if waiting and time.monotonic() > deadline:
                names = ", ".join(r.name for r in waiting)
                raise BrokerUnavailable(f"{names} not ready after {timeout_s:.0f} s")
            time.sleep(interval_s)
