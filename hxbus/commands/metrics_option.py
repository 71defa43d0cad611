"""``--metrics-port`` and ``--metrics-linger`` for every long-running command.

A command that runs for a while serves ``/metrics`` and ``/healthz`` (see
``runtime.metrics_server``) so that Prometheus and ``hxbus top`` can watch it. The port
comes from ``--metrics-port``, else from ``HX_METRICS_PORT``; 0 means off. The ports the
deployment uses per role are listed in ``deploy/prometheus/prometheus.yml``.

A short-lived command (``simulate --duration 5``) would exit between two scrapes and its
final counts would never be seen: ``--metrics-linger S`` keeps the endpoint up S seconds
after the work is done.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from runtime import Settings
from runtime.metrics_server import start_metrics_server


def add_metrics_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--metrics-port`` and ``--metrics-linger`` to a command's parser."""
    parser.add_argument(
        "--metrics-port",
        type=_port,
        default=None,
        metavar="PORT",
        help="serve /metrics and /healthz on this port (env HX_METRICS_PORT; 0 = off)",
    )
    parser.add_argument(
        "--metrics-linger",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="keep serving /metrics this long after the work is done (0)",
    )


def metrics_port(args: argparse.Namespace, settings: Settings) -> int:
    """The port to serve on: the option's, else the setting's (0 = off)."""
    port: int | None = args.metrics_port
    return settings.metrics_port if port is None else port


@contextmanager
def serving_metrics(args: argparse.Namespace, settings: Settings) -> Iterator[threading.Event]:
    """Serve ``/metrics`` while the block runs (and ``--metrics-linger`` after it).

    Yields an event the command sets once it is connected: ``/healthz`` answers 503
    until then. Nothing is started when the port is 0.
    """
    ready = threading.Event()
    port = metrics_port(args, settings)
    if not port:
        yield ready
        return
    server = start_metrics_server(port, host=settings.metrics_host, ready=ready.is_set)
    print(f"metrics: http://{settings.metrics_host}:{server.port}/metrics", file=sys.stderr)
    try:
        yield ready
        if args.metrics_linger:
            time.sleep(args.metrics_linger)
    finally:
        server.stop()


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a port number, not {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, not {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value
