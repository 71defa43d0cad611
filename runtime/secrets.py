"""Passwords kept in files: one secret a file, mode 0600, in a 0700 directory.

SCRAM passwords (the broker's ``admin``, each agency's) are generated here, never typed,
never put in the repository or in a log line: a command that needs one reads its file,
and ``hxbus credentials`` prints one only for an operator handing it over. A file that
others can read is refused, as for private keys (``runtime.signing_keys``).
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from schemas.errors import ConfigError

#: URL-safe characters only: SCRAM names and passwords go through JAAS strings and
#: ``kafka-storage format --add-scram 'SCRAM-SHA-512=[name=..,password=..]'`` (no commas).
_TOKEN_BYTES = 24


def secrets_dir(state_dir: Path) -> Path:
    """Where hxbus keeps the SCRAM passwords of this host."""
    return state_dir / "secrets"


def password_file(state_dir: Path, user: str) -> Path:
    """The SCRAM password of ``user`` (an agency id, ``bridge-js``, ``auditor``)."""
    return secrets_dir(state_dir) / f"scram-{user}.password"


def read_secret(path: Path) -> str:
    """The secret in ``path``; ConfigError if absent, empty or readable by others."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such secret file") from None
    if mode & 0o077:
        raise ConfigError(f"{path}: mode {mode:o} lets others read a secret; chmod 600 it")
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        raise ConfigError(f"{path}: empty secret file")
    return text


def write_secret(path: Path, secret: str) -> None:
    """Write ``secret`` to ``path`` (0600, directory 0700), replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    write_atomically(path, secret.encode("utf-8") + b"\n", 0o600)


def write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data``, never half written, with ``mode`` from the first
    byte (a private key is never briefly readable by others): written whole under a
    temporary name beside it, fsynced, then renamed over it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    descriptor = os.open(temporary, flags, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        os.fchmod(descriptor, mode)  # the umask may have taken bits away
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)


def ensure_secret(path: Path) -> str:
    """The secret in ``path``, generated (random, URL-safe) and written first if absent."""
    if not path.exists():
        write_secret(path, secrets.token_urlsafe(_TOKEN_BYTES))
    return read_secret(path)
