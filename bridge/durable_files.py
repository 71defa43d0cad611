"""Files that survive a crash: written whole and fsynced, and directories fsynced.

The directory sink and the outbox both hand files to someone who must never see half of
one and must not lose one the bridge reported done. These are their two primitives; each
caller names files its own way (temporary dot-names, ``link`` so nothing is overwritten).
"""

from __future__ import annotations

import os
from pathlib import Path


def write_synced(path: Path, content: bytes) -> None:
    """Create ``path`` (it must not exist), write all of ``content``, fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(content)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """fsync a directory, so the names created or removed in it are on disk."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
