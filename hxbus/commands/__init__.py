"""Sub-commands of ``hxbus``; each module has ``register(subparsers)``.

Add a new command by writing its module here and listing it in ``ALL``.
"""

from __future__ import annotations

from types import ModuleType

from hxbus.commands import (
    alerts,
    audit,
    bench,
    bridge,
    broker,
    console,
    credentials,
    demo,
    dlq,
    drill,
    kafka,
    keys,
    lookup,
    provision,
    publish,
    requests,
    schemas,
    simulate,
    top,
    tracker,
    validate,
)

ALL: tuple[ModuleType, ...] = (
    alerts,
    audit,
    bench,
    bridge,
    broker,
    console,
    credentials,
    demo,
    dlq,
    drill,
    kafka,
    keys,
    lookup,
    provision,
    publish,
    requests,
    schemas,
    simulate,
    top,
    tracker,
    validate,
)
