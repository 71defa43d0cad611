"""Ed25519 key files of the agencies, and their public halves in the agreement.

A private key is a secret: it lives under the state directory (``<state>/keys``, mode
0700), never in the repository, in a PKCS#8 PEM file with mode 0600, written through a
temporary file so that a crash never leaves half a key. A key file that others can read
is refused, as ssh refuses one: a key that may have leaked must be rotated, not used.

The public half goes into the agreement (``public_keys`` of the agency's ``[[agencies]]``
table, or of the province's ``[provinces.<key>]`` table for a province's bridge, which
signs its audit records; base64 of the raw 32 bytes), edited in place line by line so
that the file's comments and layout stay as the operators wrote them; the result is
parsed again before it replaces the file. During a changeover the agreement lists two
keys: the new one and the one it replaces, so that messages signed before the switch
still verify.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from runtime import ed25519
from runtime.secrets import write_atomically
from runtime.settings import Settings
from schemas.agreement import Agreement, bridge_principal, parse_agreement
from schemas.errors import ConfigError

#: Public keys an agency may list at once: the current one and the one being retired.
MAX_PUBLIC_KEYS = 2
_PRIVATE_MODE = 0o600
_DIR_MODE = 0o700


def keys_dir(state_dir: Path) -> Path:
    """Where the private keys of this host's agencies live."""
    return state_dir / "keys"


def private_key_path(state_dir: Path, agency: str) -> Path:
    """The private key file of an agency (``<id>``) or a bridge (``bridge-js``)."""
    return keys_dir(state_dir) / f"{agency}.ed25519.pem"


def public_key_text(public: Ed25519PublicKey) -> str:
    """The agreement's form of a public key: base64 of the raw 32 bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def key_id(public: Ed25519PublicKey) -> str:
    """A key's name in the ``hx_key_id`` header: 16 hex digits of SHA-256 of the raw key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def parse_public_key(text: str, where: str) -> Ed25519PublicKey:
    """A public key from the agreement; ConfigError naming ``where`` if it is not one."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ConfigError(f"{where}: not base64") from None
    if len(raw) != 32:
        raise ConfigError(f"{where}: an Ed25519 public key is 32 bytes, this is {len(raw)}")
    if not ed25519.is_valid_public_key(raw):
        # A key of small order would let anyone forge its signatures; libsodium refuses
        # every signature under it, so it is refused here, at start, by name.
        raise ConfigError(f"{where}: not a valid Ed25519 public key (not a point of its group)")
    return Ed25519PublicKey.from_public_bytes(raw)


def read_private_key(path: Path) -> Ed25519PrivateKey:
    """The key in ``path``; ConfigError if it is readable by others or not an Ed25519 key."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"{path}: mode {mode:o} lets others read a private key; chmod 600 it "
            "(and rotate it if it may have leaked)"
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as exc:
        raise ConfigError(f"{path}: not a PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path}: not an Ed25519 key")
    return key


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write ``key`` to ``path`` (0600, directory 0700), replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, _DIR_MODE)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_atomically(path, pem, _PRIVATE_MODE)


def generate_key(state_dir: Path, agency: str, *, rotate: bool = False) -> Ed25519PrivateKey:
    """A new key pair for ``agency``; the private key written under ``state_dir``.

    An agency that has a key already keeps it unless ``rotate``: then the old file is kept
    beside the new one as ``<agency>.<key id>.retired.pem`` (still 0600), so the
    changeover can be undone until the old public key leaves the agreement.
    """
    path = private_key_path(state_dir, agency)
    if path.exists():
        if not rotate:
            raise ConfigError(
                f"{path}: {agency} has a key already; --rotate replaces it "
                "(the agreement then lists both until the old one is removed)"
            )
        old = read_private_key(path)
        os.replace(path, path.with_name(f"{agency}.{key_id(old.public_key())}.retired.pem"))
    key = Ed25519PrivateKey.generate()
    write_private_key(path, key)
    return key


# -- the agreement file ----------------------------------------------------------------------

_TABLE = re.compile(r"^\s*\[")
_AGENCY_TABLE = re.compile(r"^\s*\[\[agencies\]\]\s*(#.*)?$")
_PROVINCE_TABLE = re.compile(r"^\s*\[provinces\.(?P<key>[A-Za-z0-9_-]+)\]\s*(#.*)?$")
_ID_LINE = re.compile(r'^\s*id\s*=\s*"(?P<id>[^"]*)"')
_KEYS_LINE = re.compile(r"^\s*public_keys\s*=")


def add_public_key(agreement_path: Path, agency: str, public_key: str) -> Agreement:
    """Add ``public_key`` to the agency's ``public_keys`` in the agreement file.

    The new key goes last; when the agency would then list more than ``MAX_PUBLIC_KEYS``,
    the oldest go. Returns the agreement as written. ConfigError when the agency is not
    in the file or the edited file would not be a valid agreement (then nothing is written).
    """
    return _add_key(
        agreement_path,
        public_key,
        current=lambda a: a.agency(agency).public_keys,
        block=lambda lines: _agency_block(lines, agency),
        owner=f"agency {agency}",
    )


def add_province_public_key(agreement_path: Path, province: str, public_key: str) -> Agreement:
    """Add ``public_key`` to the ``public_keys`` of the province's bridge (``[provinces.X]``),
    as ``add_public_key`` does for an agency."""

    def current(agreement: Agreement) -> tuple[str, ...]:
        if province not in agreement.provinces:
            raise ConfigError(f"province {province} is not in the agreement")
        return agreement.provinces[province].public_keys

    return _add_key(
        agreement_path,
        public_key,
        current=current,
        block=lambda lines: _province_block(lines, province),
        owner=f"province {province}",
    )


def _add_key(
    agreement_path: Path,
    public_key: str,
    *,
    current: Callable[[Agreement], tuple[str, ...]],
    block: Callable[[list[str]], tuple[int, int]],
    owner: str,
) -> Agreement:
    # The file itself, not a symlink to it (schemas/agencies.toml -> deploy/agencies.toml):
    # os.replace on the link would turn it into a copy that no longer follows the file.
    agreement_path = agreement_path.resolve()
    text = agreement_path.read_text(encoding="utf-8")
    before = parse_agreement(text, origin=str(agreement_path))
    listed = list(current(before))
    if public_key in listed:
        return before
    keys = [*listed, public_key][-MAX_PUBLIC_KEYS:]
    edited = _set_public_keys(text, block, keys)
    after = parse_agreement(edited, origin=f"{agreement_path} (edited)")
    if list(current(after)) != keys:
        raise ConfigError(f"{agreement_path}: could not set public_keys of {owner}")
    temporary = agreement_path.with_name(f".{agreement_path.name}.{os.getpid()}.tmp")
    temporary.write_text(edited, encoding="utf-8")
    os.chmod(temporary, stat.S_IMODE(agreement_path.stat().st_mode))
    os.replace(temporary, agreement_path)
    return after


def _set_public_keys(
    text: str, find_block: Callable[[list[str]], tuple[int, int]], keys: list[str]
) -> str:
    """``text`` with the table ``find_block`` finds holding ``public_keys = [keys]``."""
    lines = text.splitlines(keepends=True)
    start, end = find_block(lines)
    new_line = "public_keys = [" + ", ".join(f'"{k}"' for k in keys) + "]\n"
    block = lines[start:end]
    for i, line in enumerate(block):
        if _KEYS_LINE.match(line):
            last = i
            while "]" not in block[last].split("#", 1)[0] and last + 1 < len(block):
                last += 1
            block[i : last + 1] = [new_line]
            break
    else:
        insert_at = len(block)
        while insert_at > 1 and (
            not block[insert_at - 1].strip() or block[insert_at - 1].lstrip().startswith("#")
        ):
            insert_at -= 1
        if insert_at and not block[insert_at - 1].endswith("\n"):
            block[insert_at - 1] += "\n"
        block.insert(insert_at, new_line)
    return "".join([*lines[:start], *block, *lines[end:]])


def _agency_block(lines: list[str], agency: str) -> tuple[int, int]:
    """Line range [start, end) of the ``[[agencies]]`` table whose id is ``agency``."""
    starts = [i for i, line in enumerate(lines) if _AGENCY_TABLE.match(line)]
    for start in starts:
        end = next((j for j in range(start + 1, len(lines)) if _TABLE.match(lines[j])), len(lines))
        for line in lines[start:end]:
            found = _ID_LINE.match(line)
            if found and found.group("id") == agency:
                return start, end
    raise ConfigError(f"agency {agency} has no [[agencies]] table in the agreement")


def _province_block(lines: list[str], province: str) -> tuple[int, int]:
    """Line range [start, end) of the ``[provinces.<province>]`` table."""
    for start, line in enumerate(lines):
        found = _PROVINCE_TABLE.match(line)
        if found and found.group("key") == province:
            end = next(
                (j for j in range(start + 1, len(lines)) if _TABLE.match(lines[j])), len(lines)
            )
            return start, end
    raise ConfigError(f"province {province} has no [provinces.{province}] table in the agreement")


def keyless(agreement: Agreement) -> list[str]:
    """Who in ``agreement`` has no public key: agencies, then the provinces' bridges, each
    with the command that makes the key."""
    missing = [
        f"agency {a.id} ({a.city}): hxbus keys generate --agency {a.id}"
        for a in agreement.agencies
        if not a.public_keys
    ]
    missing += [
        f"bridge of province {key}: hxbus keys generate --province {key}"
        for key, province in agreement.provinces.items()
        if not province.public_keys
    ]
    return missing


def keyed_copy(settings: Settings, agreement: Agreement, root: Path) -> tuple[Settings, Agreement]:
    """A copy of the agreement at ``<root>/agreement.toml`` listing a new key for every
    agency and every province's bridge, their private halves under ``<root>/.state``; the
    settings (agreement and state dir pointing there) and agreement to run with.

    What the demo, the drill and the benchmark run with: every message signed and
    verified, every audit record signed, as on a secured deployment.
    """
    state = root / ".state"
    agreement_copy = root / "agreement.toml"
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(settings.agreement, agreement_copy)
    for agency in agreement.agencies:
        public = generate_key(state, agency.id).public_key()
        agreement = add_public_key(agreement_copy, agency.id, public_key_text(public))
    for province in agreement.provinces:
        public = generate_key(state, bridge_principal(province)).public_key()
        agreement = add_province_public_key(agreement_copy, province, public_key_text(public))
    settings = settings.model_copy(update={"agreement": agreement_copy, "state_dir": state})
    return settings, agreement
