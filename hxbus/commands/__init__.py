"""Sub-commands of ``hxbus``; each module has ``register(subparsers)``.

Add a new command by writing its module here and listing it in ``ALL``.
"""

from __future__ import annotations

from types import ModuleType

from hxbus.commands import (
    bridge,
    broker,
    dlq,
    provision,
    publish,
    schemas,
    simulate,
    validate,
)

ALL: tuple[ModuleType, ...] = (
    bridge,
    broker,
    dlq,
    provision,
    publish,
    schemas,
    simulate,
    validate,
)
