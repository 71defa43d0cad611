"""For tests that start (and kill) a broker of their own beside the shared one."""

from __future__ import annotations

import random
import socket

from hxbus import broker


def free_port_pair() -> int:
    """A port p such that p and p+1 are free (the launcher's client and controller ports)."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(21000, 29000, 2)
        if not broker.port_in_use(port) and not broker.port_in_use(port + 1):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise AssertionError("no free port pair found")
