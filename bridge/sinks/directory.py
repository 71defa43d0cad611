"""The directory sink: one file per message in ``<root>/inbox/``, written atomically.

The local system picks files up from its inbox and must never see half a file, nor the
same message twice. So each message is written to a temporary dot-file in the inbox
itself (the local systems ignore dot-files; the same directory keeps the final step on
one filesystem), fsynced, and only then given its real name, which is the message id
(``<message id>.json``). Files are 0640 and the inbox 0750 unless the province's
agreement entry says otherwise (``inbox_file_mode``, ``inbox_dir_mode``): they hold
personal data, so only the local system's owner and group may read them. A message
delivered again after a crash finds its file there: the same bytes count as delivered
(``duplicate``); different bytes under the same id mean a reused message id or a
translation that is not a pure function of the event, and are refused loudly
(``SinkConflict``, to the DLQ) rather than overwriting what the local system may already
have acted on.

Durability (the fsync policy the benchmark measures), per batch, in ``flush()``:
1. the data of every file written in the batch is made durable at once (one ``syncfs`` of
   the inbox's filesystem on Linux, an ``fsync`` per file elsewhere:
   ``bridge.durable_files.sync_filesystem``), so a name never points at missing data
   after a power loss;
2. only then does each file get its real name (``link``);
3. one ``fsync`` of the inbox directory, so the names are on disk before the consumer
   commits its offsets. A crash before that may lose a name; the offset is not committed
   either, so the message comes again.
Until ``flush()`` a delivered message is a temporary dot-file the local system does not
pick up: a batch that fails is never half visible. The result ``deliver`` gives is what the
message becomes once ``flush()`` returns; when ``flush()`` raises, none of it holds and
the batch comes again. One ``fsync`` per file cost ~0.4 ms each on the development
machine (half of the sink's time, see docs/benchmarks.md).

The temporary files are created and written on a thread of the sink's own
(``bridge.sinks.background_writes``): ``deliver`` decides the outcome (a name already in
the inbox or the batch is compared there and then, a bad name refused), queues the write
and returns, so the consumer loop goes on with the next messages while the kernel creates
the file (~130 µs of CPU a file on the shared machine, without the GIL). ``flush()`` first
waits for every queued write; if one failed (a full disk), the batch's temporary files
are removed and ``flush()`` raises ``SinkUnavailable``: the runtime rewinds the whole
batch, where a write failing in ``deliver`` used to stop only its own partition.

"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import time
from pathlib import Path
from typing import Any, ClassVar

import structlog

from bridge.durable_files import (
    DIR_MODE,
    FILE_MODE,
    fsync_dir,
    make_private_dir,
    sync_filesystem,
    umask_keeps,
)
from bridge.profiles.base import LocalMessage
from bridge.sinks.background_writes import BackgroundWrites
from bridge.sinks.base import DeliveryOutcome, DeliveryResult, Sink
from runtime.metrics import SINK_DELIVERIES
from schemas import Envelope, utc_now_ms
from schemas.errors import SinkConflict, SinkRejected, SinkUnavailable

log = structlog.get_logger("hxbus.sink.directory")

_TEMP_PREFIX = ".hx-"
_TEMP_SUFFIX = ".tmp"
_CHUNK = 1 << 16


class DirectorySink(Sink):
    """Writes each message as ``<root>/inbox/<file_name>``; names and syncs them per batch."""

    kind: ClassVar[str] = "directory"

    def __init__(
        self,
        root: Path | str,
        *,
        leftover_age_s: float = 60.0,
        file_mode: int = FILE_MODE,
        dir_mode: int = DIR_MODE,
    ) -> None:
        self.inbox = Path(root) / "inbox"
        #: Modes of the delivered files and of the inbox (the agreement's, per province):
        #: personal data, so owner and group only by default, whatever the umask.
        self.file_mode = file_mode
        self.dir_mode = dir_mode
        try:
            make_private_dir(self.inbox, dir_mode)
        except OSError as exc:
            raise SinkUnavailable(f"cannot create inbox {self.inbox}: {exc.strerror}") from exc
        #: The inbox's path with its separator, to which names are appended (a ``Path``
        #: per file costs more than the system calls it names).
        self._inbox = f"{self.inbox}{os.sep}"
        #: Temporary names: ``.hx-<name>.<this sink's random token><counter>.tmp``, unique
        #: among the workers sharing the inbox without a random draw per file.
        self._token = secrets.token_hex(4)
        self._written = 0
        #: Whether the umask leaves ``file_mode`` whole (no ``fchmod`` needed), checked at
        #: the first write of each batch; None until then.
        self._umask_keeps_mode: bool | None = None
        #: The batch's files, written under temporary names: final name -> (temp, content).
        self._pending: dict[str, tuple[str, bytes]] = {}
        self._deliveries: dict[DeliveryOutcome, Any] = {}
        #: A duplicate was found on disk this batch: its name may be one a crash left
        #: before the inbox fsync, so the inbox is fsynced before the batch commits.
        self._found_existing = False
        #: The batch's files are created and written on a thread of their own, so that the
        #: loop goes on with the next messages meanwhile (``flush`` waits for them).
        self.writes = BackgroundWrites()
        self.removed_leftovers = self._remove_leftovers(leftover_age_s)

    def deliver(
        self, message: LocalMessage, envelope: Envelope, *, key: bytes | None = None
    ) -> DeliveryResult:
        """Queue the message's write under a temporary name (written on the writes'
        thread, named at ``flush``); a file already there, or already in this batch, with
        the same bytes is a duplicate."""
        name = _checked_name(message.file_name)
        earlier = self._pending.get(name)
        if earlier is not None:
            return self._compare_bytes(
                self.inbox / name, hashlib.sha256(earlier[1]).hexdigest(), message.content
            )
        target = f"{self._inbox}{name}"
        if os.path.exists(target):
            self._found_existing = True
            return self._compare(self.inbox / name, message)
        if self._umask_keeps_mode is None:  # once per batch: the umask is the process's
            self._umask_keeps_mode = umask_keeps(self.file_mode)
        self._written += 1
        temp = f"{self._inbox}{_TEMP_PREFIX}{name}.{self._token}{self._written:x}{_TEMP_SUFFIX}"
        # Written on the writes' thread while the loop goes on; a failure fails the batch
        # at flush (the module doc).
        self.writes.write(
            temp, message.content, self.file_mode, umask_keeps_mode=self._umask_keeps_mode
        )
        self._pending[name] = (temp, message.content)
        return self._result(DeliveryOutcome.DELIVERED, name)

    def flush(self) -> None:
        """Sync the batch's data, name its files, fsync the inbox (see the module doc).

        ``SinkConflict`` when another worker named one of the files meanwhile with other
        bytes (the batch comes again; that message then goes to the DLQ alone);
        ``SinkUnavailable`` when the disk refused a write or the sync. Either way no
        temporary file is left.
        """
        pending, self._pending = self._pending, {}
        found_existing, self._found_existing = self._found_existing, False
        self._umask_keeps_mode = None
        failure = self.writes.wait()
        if failure is not None:  # the batch comes again: none of its files may stay
            for temp, _ in pending.values():
                _unlink_if_there(temp)
            if isinstance(failure.error, OSError):
                raise SinkUnavailable(
                    f"cannot write {failure.path}: {failure.error.strerror}"
                ) from failure.error
            raise failure.error
        if not pending:
            if found_existing:
                self._fsync_inbox()
            return
        conflict: SinkConflict | None = None
        named = 0  # files named and their temporary names removed, in delivery order
        try:
            sync_filesystem(self.inbox, (Path(temp) for temp, _ in pending.values()))
            inbox = self._inbox
            for name, (temp, content) in pending.items():
                target = f"{inbox}{name}"
                try:
                    os.link(temp, target)
                except FileExistsError:  # another worker named it since ``deliver``
                    try:
                        self._compare_bytes(
                            self.inbox / name, _sha256_of_file(Path(target)), content
                        )
                    except SinkConflict as exc:
                        conflict = conflict or exc
                os.unlink(temp)
                named += 1
            fsync_dir(self.inbox)
        except OSError as exc:
            raise SinkUnavailable(f"cannot make {self.inbox} durable: {exc.strerror}") from exc
        finally:
            if named < len(pending):  # failed part-way: no temporary file may stay
                for temp, _ in list(pending.values())[named:]:
                    _unlink_if_there(temp)
        if conflict is not None:
            raise conflict

    def close(self) -> None:
        """Finish the queued writes and stop their thread (an unflushed batch's files stay
        temporary dot-files, as a crash leaves them, removed at a later start)."""
        self.writes.close()

    def _result(
        self, outcome: DeliveryOutcome, destination: str, detail: str = ""
    ) -> DeliveryResult:
        """``Sink._result`` with the metric's children looked up once per sink."""
        counter = self._deliveries.get(outcome)
        if counter is None:
            counter = self._deliveries[outcome] = SINK_DELIVERIES.labels(self.kind, outcome.value)
        counter.inc()
        return DeliveryResult(outcome, self.kind, destination, utc_now_ms(), detail)

    def _fsync_inbox(self) -> None:
        try:
            fsync_dir(self.inbox)
        except OSError as exc:
            raise SinkUnavailable(f"cannot fsync {self.inbox}: {exc.strerror}") from exc

    def _compare(self, target: Path, message: LocalMessage) -> DeliveryResult:
        """The file is there already: the same bytes are a duplicate, others a conflict."""
        try:
            existing = _sha256_of_file(target)
        except OSError as exc:
            raise SinkUnavailable(f"cannot read {target}: {exc.strerror}") from exc
        return self._compare_bytes(target, existing, message.content)

    def _compare_bytes(self, target: Path, existing: str, content: bytes) -> DeliveryResult:
        """The sha256 of what ``target`` holds (or will hold) against ``content``'s."""
        incoming = hashlib.sha256(content).hexdigest()
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
    """The file name, if it is a plain visible name inside the inbox; else SinkRejected.

    Without a separator and not starting with a dot, a name cannot leave the inbox
    (``..``), hide (``.x``) or be the inbox itself (``.``, ``""``).
    """
    if not file_name or file_name[0] == "." or "/" in file_name or "\0" in file_name:
        raise SinkRejected(f"file name {file_name!r} is not a plain file name for the inbox")
    return file_name


def _unlink_if_there(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
