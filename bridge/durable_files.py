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

And for the outbox, which never overwrites a file: ``move_unclobbered`` (``link`` then
``unlink``) and ``place_unclobbered`` (written to a temporary dot-name, then linked), each
taking a numbered name (``x.1.dat``) when the name is taken by another file.
"""

from __future__ import annotations

import ctypes
import os
import stat
from collections.abc import Callable, Iterable
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


def write_unsynced(
    path: Path | str, content: bytes, mode: int = FILE_MODE, *, umask_keeps_mode: bool = False
) -> None:
    """Create ``path`` (it must not exist) with ``mode`` and write all of ``content``; not
    yet durable: ``sync_filesystem`` (or an fsync of the file) makes it so.

    ``umask_keeps_mode``: the caller checked (``umask_keeps``) that the process umask
    takes no bit of ``mode`` away, so ``open`` alone gives exactly ``mode`` and the
    ``fchmod`` (one system call per file) is left out.
    """
    _write(path, content, sync=False, mode=mode, chmod=not umask_keeps_mode)


def umask_keeps(mode: int) -> bool:
    """True when the process umask, read now, takes no bit of ``mode`` away.

    Read from ``/proc/self/status`` (Linux): ``os.umask`` can only be read by setting it,
    which would change it for a moment for every thread of the process. False where it
    cannot be read, so that callers keep setting the mode explicitly.
    """
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8) & mode == 0
    except (OSError, ValueError, IndexError):
        return False
    return False


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


def _write(path: Path | str, content: bytes, *, sync: bool, mode: int, chmod: bool = True) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        if chmod:
            # open() applies the umask; fchmod sets exactly ``mode`` whatever the umask is.
            os.fchmod(fd, mode)
        written = os.write(fd, content)
        if written < len(content):  # a short write (a signal, a full pipe): write the rest
            view = memoryview(content)[written:]
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


# -- moving and placing without ever overwriting (the outbox) ---------------------------


def free_name(folder: Path, name: str, is_ours: Callable[[Path], bool]) -> Path:
    """``folder/name`` if free or ``is_ours``; else the first free or ours ``stem.N.ext``."""
    stem, dot, ext = name.partition(".")
    candidate = folder / name
    number = 0
    while candidate.exists() and not is_ours(candidate):
        number += 1
        candidate = folder / (f"{stem}.{number}.{ext}" if dot else f"{name}.{number}")
    return candidate


def move_unclobbered(path: Path, folder: Path, name: str | None = None) -> Path:
    """Move ``path`` into ``folder`` without overwriting anything; fsync both folders.

    ``link`` then ``unlink``: a crash in between leaves the file in both places, which the
    next pass recognises (the same file) and finishes.
    """
    while True:
        target = free_name(folder, name or path.name, lambda t: os.path.samefile(path, t))
        if target.exists():
            break  # linked before a crash: finish the move
        try:
            os.link(path, target)
            break
        except FileExistsError:  # taken since we looked: pick again
            continue
    fsync_dir(folder)
    path.unlink()
    fsync_dir(path.parent)
    return target


def place_unclobbered(folder: Path, name: str, content: bytes) -> Path:
    """Write ``content`` as ``folder/name`` atomically (or a numbered name if taken)."""
    target = free_name(folder, name, lambda taken: taken.read_bytes() == content)
    if target.exists():
        return target  # the same bytes are there already (written before a crash)
    temp = folder / f".{target.name}.{os.getpid()}.tmp"
    temp.unlink(missing_ok=True)  # left by a crash of this very process id, long ago
    write_synced(temp, content)
    try:
        os.link(temp, target)
    except FileExistsError:
        temp.unlink()
        return place_unclobbered(folder, name, content)
    temp.unlink()
    fsync_dir(folder)
    return target
