"""The directory sink: one file per message in ``<root>/inbox/``, written atomically.

The local system picks files up from its inbox and must never see half a file, nor the
same message twice. So each message is written to a temporary dot-file in the inbox
itself (the local systems ignore dot-files; the same directory keeps the final step on
one filesystem), fsynced, and only then given its real name, which is the message id
(``<message id>.json``). A message delivered again after a crash finds its file there: the
same bytes count as delivered (``duplicate``); different bytes under the same id mean a
reused message id or a translation that is not a pure function of the event, and are
refused loudly (``SinkConflict``, to the DLQ) rather than overwriting what the local
system may already have acted on.

Durability (the fsync policy the benchmark measures):
- every file: ``fsync`` of its data before it gets its name, so a name never points at
  missing data after a power loss;
- every batch: one ``fsync`` of the inbox directory in ``flush()``, so the names created in
  the batch are on disk before the consumer commits its offsets. A crash before that
  fsync may lose a name; the offset is not committed either, so the message comes again.

The final step is ``link`` then ``unlink`` of the temporary file rather than ``rename``:
``rename`` silently replaces a file another worker wrote a moment earlier (two workers
of one group may hold the same message across a rebalance); ``link`` fails instead, and
the comparison above decides. A crash can leave a temporary dot-file behind (the local
system ignores it); the sink removes its own leftovers (``.hx-*.tmp``) when it starts, if
they are older than ``leftover_age_s``, so that a worker starting beside others sharing
the inbox never takes away a file another is writing this very moment.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from pathlib import Path
from typing import ClassVar

import structlog

from bridge.durable_files import fsync_dir, write_synced
from bridge.profiles.base import LocalMessage
from bridge.sinks.base import DeliveryOutcome, DeliveryResult, Sink
from schemas import Envelope
from schemas.errors import SinkConflict, SinkRejected, SinkUnavailable

log = structlog.get_logger("hxbus.sink.directory")

_TEMP_PREFIX = ".hx-"
_TEMP_SUFFIX = ".tmp"
_CHUNK = 1 << 16


class DirectorySink(Sink):
    """Writes each message as ``<root>/inbox/<file_name>``; fsyncs the inbox per batch."""

    kind: ClassVar[str] = "directory"

    def __init__(self, root: Path | str, *, leftover_age_s: float = 60.0) -> None:
        self.inbox = Path(root) / "inbox"
        try:
            self.inbox.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SinkUnavailable(f"cannot create inbox {self.inbox}: {exc.strerror}") from exc
        self._unsynced = False
        self.removed_leftovers = self._remove_leftovers(leftover_age_s)

    def deliver(
        self, message: LocalMessage, envelope: Envelope, *, key: bytes | None = None
    ) -> DeliveryResult:
        """Write the message under its own name; an identical file there is a duplicate."""
        name = _checked_name(message.file_name)
        target = self.inbox / name
        self._unsynced = True
        if target.exists():
            return self._compare(target, message)
        temp = self.inbox / f"{_TEMP_PREFIX}{name}.{secrets.token_hex(4)}{_TEMP_SUFFIX}"
        try:
            write_synced(temp, message.content)
            try:
                os.link(temp, target)
            except FileExistsError:  # another worker named it between our check and now
                temp.unlink()
                return self._compare(target, message)
            temp.unlink()
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise SinkUnavailable(f"cannot write {target}: {exc.strerror}") from exc
        return self._result(DeliveryOutcome.DELIVERED, name)

    def flush(self) -> None:
        """fsync the inbox directory once, so this batch's file names are on disk."""
        if not self._unsynced:
            return
        try:
            fsync_dir(self.inbox)
        except OSError as exc:
            raise SinkUnavailable(f"cannot fsync {self.inbox}: {exc.strerror}") from exc
        self._unsynced = False

    def _compare(self, target: Path, message: LocalMessage) -> DeliveryResult:
        """The file is there already: the same bytes are a duplicate, others a conflict."""
        try:
            existing = _sha256_of_file(target)
        except OSError as exc:
            raise SinkUnavailable(f"cannot read {target}: {exc.strerror}") from exc
        incoming = hashlib.sha256(message.content).hexdigest()
        if existing == incoming:
            return self._result(DeliveryOutcome.DUPLICATE, target.name)
        log.error(
            "sink_conflict",
            file=str(target),
            existing_sha256=existing,
            incoming_sha256=incoming,
        )
        raise SinkConflict(
            f"{target} already exists with different content (sha256 {existing[:12]}…, "
            f"this delivery {incoming[:12]}…): the message id was reused, or the "
            "translation of this event changed; the existing file was left as it is"
        )

    def _remove_leftovers(self, min_age_s: float) -> int:
        """Remove temporary files of writes a crash interrupted (older than ``min_age_s``)."""
        removed = 0
        cutoff = time.time() - min_age_s
        for leftover in self.inbox.glob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
            try:
                if leftover.stat().st_mtime > cutoff:
                    continue
                leftover.unlink()
            except FileNotFoundError:  # finished or removed by another worker meanwhile
                continue
            removed += 1
        if removed:
            log.warning("sink_temp_files_removed", inbox=str(self.inbox), count=removed)
        return removed


def _checked_name(file_name: str) -> str:
    """The file name, if it is a plain visible name inside the inbox; else SinkRejected."""
    if not file_name or file_name.startswith(".") or Path(file_name).name != file_name:
        raise SinkRejected(f"file name {file_name!r} is not a plain file name for the inbox")
    return file_name


def _sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
