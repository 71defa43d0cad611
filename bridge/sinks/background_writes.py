"""A batch's files written on a thread of their own while the consumer loop goes on.

Creating and writing a file is kernel work (``open(O_CREAT|O_EXCL)``, ``write``,
``close``: ~35 µs on a quiet ext4, ~130 µs of CPU a file in a bridge on the shared
machine, docs/benchmarks.md "Overlap"), during which CPython does not need the GIL. Done
on the loop's thread it is time the loop cannot spend on the next messages' Python work;
done here, it runs on the other core meanwhile.

The thread still needs the GIL for a few microseconds after each system call, and gets it
only when the loop lets it go (a signature check, an SQLite statement, a ``stat``), so it
falls behind while the loop runs pure Python. ``wait`` therefore does not only wait: the
caller's thread writes what is still queued itself, beside the writer, and then waits for
the writer's last file.

What the caller can rely on: each file is written whole under the name it was given (a
temporary dot-name: nothing here makes a file visible), and ``wait`` returns only once
every write queued before it is done, with the first failure among them. A write of the
same batch after a failure is skipped (the batch fails anyway and comes again); the
failed write's own file is removed, the others' are left to the caller, which knows their
names.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from queue import Empty, SimpleQueue
from typing import Final, NamedTuple

from bridge.durable_files import write_unsynced

#: How often ``wait`` looks whether the thread is still there (it only goes away on
#: ``close``, or with the interpreter).
_ALIVE_CHECK_S: Final = 1.0


class WriteFailure(NamedTuple):
    """The first write of a batch that failed: its path, and what it raised."""

    path: str
    error: Exception


class _Failures:
    """The first failure since the last ``wait``, from whichever thread wrote."""

    __slots__ = ("first", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first: WriteFailure | None = None

    def take(self) -> WriteFailure | None:
        with self.lock:
            first, self.first = self.first, None
        return first


class _Mark:
    """A place in the queue: set once the thread is done with every write before it."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


#: One queued write: path, content, mode, whether the umask keeps the mode (no fchmod).
_Write = tuple[str, bytes, int, bool]
#: What the thread reads: a write, a mark, or None to stop.
_Item = _Write | _Mark | None


class BackgroundWrites:
    """One thread writing files with ``write_unsynced``; ``wait`` helps and waits."""

    def __init__(self, name: str = "hx-sink-writes") -> None:
        self._name = name
        self._queue: SimpleQueue[_Item] = SimpleQueue()
        self._failures = _Failures()
        self._thread: threading.Thread | None = None

    def write(self, path: str, content: bytes, mode: int, *, umask_keeps_mode: bool) -> None:
        """Queue one file (see ``write_unsynced``).

        The thread starts with the first write (a sink that writes nothing has none).
        """
        if self._thread is None:
            self._start()
        self._queue.put((path, content, mode, umask_keeps_mode))

    def wait(self) -> WriteFailure | None:
        """Return once every write queued so far is done (writing those still queued on
        the calling thread meanwhile): the first failure among them (an ``OSError`` from
        the disk, or whatever else a write raised), else None."""
        thread = self._thread
        if thread is None:
            return None
        queue, failures = self._queue, self._failures
        while True:
            try:
                item = queue.get_nowait()
            except Empty:
                break
            if isinstance(item, tuple):  # only writes are queued between two waits
                _write(item, failures)
        mark = _Mark()  # the writer may still be in its last file
        queue.put(mark)
        while not mark.done.wait(_ALIVE_CHECK_S):
            if not thread.is_alive():
                raise RuntimeError(f"the file writer thread {self._name} stopped")
        return failures.take()

    def close(self) -> None:
        """Finish the writes queued so far and stop the thread (a later write starts a
        new one)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _start(self) -> None:
        queue = self._queue
        self._thread = threading.Thread(
            target=_write_all, args=(queue, self._failures), name=self._name
        )
        # A daemon: a process that exits without closing its sink is not held up; the
        # files of an unflushed batch are then what a crash leaves, temporary dot-files.
        self._thread.daemon = True
        self._thread.start()
        # The thread holds the queue, not this object: when this object goes away
        # unclosed, the thread is told to stop.
        weakref.finalize(self, queue.put, None)


def _write_all(queue: SimpleQueue[_Item], failures: _Failures) -> None:
    """The thread: write what comes, set each mark, stop at None."""
    while True:
        item = queue.get()
        if item is None:
            return
        if isinstance(item, _Mark):
            item.done.set()
            continue
        _write(item, failures)


def _write(item: _Write, failures: _Failures) -> None:
    """One file; a failure is kept (the first only) and its file removed."""
    if failures.first is not None:
        return  # this batch fails anyway: leave its remaining writes out
    path, content, mode, umask_keeps_mode = item
    try:
        write_unsynced(path, content, mode, umask_keeps_mode=umask_keeps_mode)
    except Exception as exc:  # every failure goes to the caller at ``wait``
        with failures.lock:
            if failures.first is None:
                failures.first = WriteFailure(path, exc)
        with contextlib.suppress(OSError):
            os.unlink(path)
