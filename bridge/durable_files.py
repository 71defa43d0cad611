"""Files that survive a crash: written whole and synced, and directories fsynced.

The directory sink and the outbox both hand files to someone who must never see half of
one and must not lose one the bridge reported done. These are their primitives; each
caller names files its own way (temporary dot-names, ``link`` so nothing is overwritten).

Two ways to make file data durable:
- ``write_synced``: one file, one ``fsync`` (the outbox, a file at a time);
- ``write_unsynced`` for every file of a batch, then one ``sync_filesystem`` of the
  folder's filesystem (the directory sink, a batch at a time). An ``fsync`` costs a journal
  commit each (~0.3–0.5 ms on the development machine's ext4, more on a busy disk); a
  batch of 500 files pays it once instead of 500 times.
"""

from __future__ import annotations

import ctypes
import os
import stat
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

#: Mode of the files handed to a local system: owner and group read, nobody else
#: (design.md, Audit and personal data). A province may choose another in the agreement.
FILE_MODE = 0o640
#: Mode of the folders that hold them.
DIR_MODE = 0o750


def write_synced(path: Path, content: bytes, mode: int = FILE_MODE) -> None:
    """Create ``path`` (it must not exist) with ``mode``, write all of ``content``, fsync."""
    _write(path, content, sync=True, mode=mode)


def write_unsynced(path: Path, content: bytes, mode: int = FILE_MODE) -> None:
    """Create ``path`` (it must not exist) with ``mode`` and write all of ``content``; not
    yet durable: ``sync_filesystem`` (or an fsync of the file) makes it so."""
    _write(path, content, sync=False, mode=mode)


def make_private_dir(folder: Path, mode: int = DIR_MODE) -> None:
    """Create ``folder`` (and its parents) if missing and give it exactly ``mode``.

    The mode is set with ``chmod`` after the fact, so the process's umask cannot widen
    or narrow it; parents made on the way get the umask's default, as ``mkdir -p`` does.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if stat.S_IMODE(folder.stat().st_mode) != mode:
        os.chmod(folder, mode)


def sync_filesystem(folder: Path, files: Iterable[Path]) -> None:
    """Make the data of ``files`` (all inside ``folder``) durable, with as few journal
    commits as the platform allows: one ``syncfs`` of the folder's filesystem on Linux,
    otherwise one ``fsync`` per file."""
    syncfs = _syncfs()
    if syncfs is not None:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if syncfs(fd) != 0:
                errno = ctypes.get_errno()
                raise OSError(errno, os.strerror(errno), str(folder))
        finally:
            os.close(fd)
        return
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
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


def _write(path: Path, content: bytes, *, sync: bool, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        # open() applies the umask; fchmod sets exactly ``mode`` whatever the umask is.
        os.fchmod(fd, mode)
        view = memoryview(content)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


@cache
def _syncfs() -> Any | None:
    """libc's ``syncfs(int fd)`` (Linux), or None where there is none."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    syncfs = getattr(libc, "syncfs", None)
    if syncfs is not None:
        syncfs.argtypes = [ctypes.c_int]
        syncfs.restype = ctypes.c_int
    return syncfs
