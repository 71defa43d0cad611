"""Closing a role's parts at shutdown: every part, in order, each even when one before it
failed (a producer that cannot flush must not leave the dedupe store or the DLQ open, nor
hide the error that stopped the role)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def close_all(parts: Mapping[str, Callable[[], object]], log: Any, event: str) -> None:
    """Call each part's ``close`` (by name) in order; a failure is logged as ``event`` (a warning of
    ``log``, the role's structlog logger) naming the part and the error, never raised."""
    for name, close in parts.items():
        try:
            close()
        except Exception as exc:
            log.warning(event, part=name, error=str(exc))
