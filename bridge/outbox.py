"""Outbound: local files dropped in ``<root>/outbox/`` become exchange events on the bus.

A local system writes a file into its outbox; the bridge parses it with the province
profile, publishes every event in it through the Publisher (which validates, signs and
waits for ``acks=all``), and only then moves the file to ``<root>/sent/``. Input that does
not parse or does not validate goes to ``<root>/rejected/`` beside ``<name>.error.txt``,
one line per problem naming the line, the field and the rule. A batch file with some bad
lines (Henan) is split the ICD's way: the bad lines are copied to ``rejected/<name>`` with
the error file, and the file itself moves to ``sent/`` once every good line is
acknowledged. Nothing is ever deleted; a name already taken in ``sent/`` or ``rejected/``
by another file gets a number (``x.1.dat``).

Which files are ready: a polling scan takes only files whose size and modification time
did not change between two scans (a file still being written is left for later), and
never dot-files or names ending in ``.part`` (a local system that can, writes
``name.part`` and renames it when done; that is the safest convention).

A crash at any point loses nothing and duplicates nothing downstream: a file leaves the
outbox only after its events were acknowledged, so after a crash it is published again,
and every event keeps the local message id (XXBH, MessageId, msg_id, the Henan header id)
as its exchange ``message_id`` (``ce_id``), which receivers deduplicate on. The moves are
``link`` then ``unlink`` (never a silent overwrite) followed by a directory fsync.

The outbox only publishes for its own province: an event whose source agency belongs to
another province is rejected (a compromised or misconfigured local system must not speak
for a partner).
"""

from __future__ import annotations

import enum
import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import structlog

from bridge.durable_files import free_name, move_unclobbered, place_unclobbered
from bridge.profiles.base import ParsedLocal, Profile
from bridge.unexpected import unexpected_error
from runtime.metrics import OUTBOX_FILES
from schemas import Agreement, ExchangeEvent, validate_event
from schemas.errors import HxError, Issue, ValidationFailed, public_text

log = structlog.get_logger("hxbus.outbox")

#: Suffix of a file a local system is still writing (renamed when complete).
PART_SUFFIX = ".part"
#: Suffix of the file beside a rejected one that says what is wrong with it.
ERROR_SUFFIX = ".error.txt"


class PublishOutcome(Protocol):
    """What the Publisher reports for one event (``producers.PublishOutcome``)."""

    @property
    def event(self) -> ExchangeEvent: ...

    @property
    def error(self) -> HxError | None: ...


class EventPublisher(Protocol):
    """The Publisher's pipelined API: one outcome per event, in input order."""

    def publish_many(self, events: Iterable[ExchangeEvent]) -> Iterator[PublishOutcome]: ...


class FileOutcome(enum.StrEnum):
    """What became of one outbox file."""

    #: Every event acknowledged; the file is in ``sent/``.
    SENT = "sent"
    #: Good lines acknowledged, the file in ``sent/``; bad lines copied to ``rejected/``.
    PARTLY_REJECTED = "partly_rejected"
    #: Nothing publishable; the file is in ``rejected/`` beside its error file.
    REJECTED = "rejected"
    #: The broker did not acknowledge everything; the file stays for the next scan.
    RETRY = "retry"


@dataclass(frozen=True, slots=True)
class FileReport:
    """One outbox file handled: the outcome, counts, and where the file went."""

    name: str
    outcome: FileOutcome
    published: int
    rejected: int
    #: The file's new place (``sent/…`` or ``rejected/…``); None while it waits in the outbox.
    moved_to: Path | None = None
    #: For RETRY: the broker's error.
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Problem:
    """One unit of the file that cannot be published, and why (one or more issues)."""

    line: int
    messages: tuple[str, ...]


class OutboxPublisher:
    """Watches ``<root>/outbox/`` and publishes what local systems drop there."""

    def __init__(
        self,
        root: Path | str,
        profile: Profile,
        publisher: EventPublisher,
        agreement: Agreement,
        *,
        province: str,
    ) -> None:
        """``province``: the key of the province whose local systems write this outbox
        (the agreement's; the profile may be shared by several provinces)."""
        root = Path(root)
        self.outbox = root / "outbox"
        self.sent = root / "sent"
        self.rejected = root / "rejected"
        for folder in (self.outbox, self.sent, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)
        self.profile = profile
        self._publisher = publisher
        self._agreement = agreement
        self._province = agreement.province_key(province)
        self._own_agencies = frozenset(a.id for a in agreement.agencies_of(self._province))
        #: (size, mtime_ns) of every candidate at the previous scan.
        self._last_seen: dict[str, tuple[int, int]] = {}

    # -- watching ------------------------------------------------------------------------

    def run(self, stop: threading.Event, interval_s: float = 1.0) -> None:
        """Scan every ``interval_s`` seconds until ``stop`` is set."""
        while not stop.is_set():
            self.scan()
            stop.wait(interval_s)

    def waiting(self) -> list[Path]:
        """The files in the outbox a scan may take: never dot-files nor ``.part`` names
        (being written), never folders."""
        return [
            path
            for path in self.outbox.iterdir()
            if not path.name.startswith(".")
            and not path.name.endswith(PART_SUFFIX)
            and path.is_file()
        ]

    def scan(self) -> list[FileReport]:
        """One pass: handle every file that was stable since the previous pass.

        Files are taken oldest first (modification time, then name), so a local system's
        alert and its later withdrawal go out in the order it wrote them.
        """
        current: dict[str, tuple[int, int]] = {}
        for path in self.waiting():
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # taken away since the listing
            current[path.name] = (stat.st_size, stat.st_mtime_ns)
        ready = [name for name, sig in current.items() if self._last_seen.get(name) == sig]
        self._last_seen = {n: s for n, s in current.items() if n not in ready}
        ready.sort(key=lambda name: (current[name][1], name))
        reports = [self._process_safely(self.outbox / name) for name in ready]
        for report in reports:
            if report.outcome is FileOutcome.RETRY:  # try it again at the next pass
                self._last_seen[report.name] = current[report.name]
        return reports

    # -- one file ------------------------------------------------------------------------

    def _process_safely(self, path: Path) -> FileReport:
        """``process``, but a file system failure leaves the file for the next pass, and
        any other failure rejects the file with the error's class (never the outbox)."""
        try:
            return self.process(path)
        except OSError as exc:
            log.exception("outbox_file_failed", file=path.name, error=str(exc))
            return FileReport(path.name, FileOutcome.RETRY, 0, 0, error=str(exc))
        except Exception as exc:  # a bug on this file: the next files must still go out
            error = unexpected_error(self.profile.name, "publish", exc, path.name)
            problem = _Problem(1, (_plain_message(error, path.name),))
            try:
                return self._settle(path, b"", 0, [problem])
            except OSError as move_error:
                log.exception("outbox_file_failed", file=path.name, error=str(move_error))
                return FileReport(path.name, FileOutcome.RETRY, 0, 0, error=str(move_error))

    def process(self, path: Path) -> FileReport:
        """Publish one outbox file and move it where its outcome says."""
        try:
            content = path.read_bytes()
        except FileNotFoundError:  # taken away by the local system: nothing to do
            return FileReport(path.name, FileOutcome.RETRY, 0, 0, error="file vanished")
        units = self._parse(content, path.name)
        problems: list[_Problem] = []
        events: list[tuple[int, ExchangeEvent]] = []
        for unit in units:
            if unit.error is not None:
                problems.append(_Problem(unit.line, (_plain_message(unit.error, path.name),)))
            elif unit.event is not None:
                refused = self._refusal(unit.event, path.name, unit.line)
                if refused:
                    problems.append(_Problem(unit.line, refused))
                else:
                    events.append((unit.line, unit.event))
        published = 0
        unavailable: HxError | None = None
        outcomes = self._publisher.publish_many(event for _, event in events)
        for (line, _), outcome in zip(events, outcomes, strict=True):
            error = outcome.error
            if error is None:
                published += 1
            elif error.retriable:
                unavailable = unavailable or error
            else:
                problems.append(_Problem(line, _messages_of(error)))
        if unavailable is not None:
            return self._retry_later(path.name, published, unavailable)
        if not units:
            problems.append(_Problem(1, ("the file holds no record",)))
        return self._settle(path, content, published, problems)

    def _parse(self, content: bytes, name: str) -> list[ParsedLocal]:
        """Every unit of the file; a profile that fails part-way keeps the units before.

        A profile that breaks on some input (a bug, not an ``HxError``) must not stop the
        outbox: what it read before the failure goes on, the rest of the file is refused
        with the error's class (counted, and logged without values), as the consumer
        runtime sends such a message to the DLQ.
        """
        units: list[ParsedLocal] = []
        try:
            for unit in self.profile.from_local(content, name):
                units.append(unit)
        except HxError as exc:
            units.append(ParsedLocal(units[-1].line + 1 if units else 1, error=exc))
        except Exception as exc:
            line = units[-1].line + 1 if units else 1
            error = unexpected_error(self.profile.name, "parse", exc, f"{name}: line {line}")
            units.append(ParsedLocal(line, error=error))
        return units

    def _refusal(self, event: ExchangeEvent, name: str, line: int) -> tuple[str, ...]:
        """Why ``event`` cannot go out (nothing when it can): a foreign source, or the
        exchange's rules, checked here so that a failure on one event refuses that event."""
        source = event.envelope.source
        if source not in self._own_agencies:
            return (
                "source: is not an agency of this province; "
                "this outbox publishes for its own province only",
            )
        try:
            validate_event(event.envelope, event.record, self._agreement)
        except ValidationFailed as failed:
            return _messages_of(failed)
        except Exception as exc:  # a bug in a rule: this event is refused, not the outbox
            error = unexpected_error(self.profile.name, "parse", exc, f"{name}: line {line}")
            return (_plain_message(error, name),)
        return ()

    def _retry_later(self, name: str, published: int, error: HxError) -> FileReport:
        log.warning(
            "outbox_publish_failed",
            file=name,
            published=published,
            reason=error.reason,
            error=public_text(error),
        )
        return FileReport(name, FileOutcome.RETRY, published, 0, error=str(error))

    def _settle(
        self, path: Path, content: bytes, published: int, problems: Sequence[_Problem]
    ) -> FileReport:
        """Every event is acknowledged or refused for good: write the errors, move the file."""
        name = path.name
        if not problems:
            moved = move_unclobbered(path, self.sent)
            outcome = FileOutcome.SENT
        elif not published:
            target = free_name(self.rejected, name, lambda taken: os.path.samefile(path, taken))
            place_unclobbered(
                self.rejected, target.name + ERROR_SUFFIX, _error_text(name, problems, 0)
            )
            moved = move_unclobbered(path, self.rejected, target.name)
            outcome = FileOutcome.REJECTED
        else:
            bad_lines = _lines(content, {p.line for p in problems})
            copy = place_unclobbered(self.rejected, name, bad_lines)
            place_unclobbered(
                self.rejected, copy.name + ERROR_SUFFIX, _error_text(name, problems, published)
            )
            moved = move_unclobbered(path, self.sent)
            outcome = FileOutcome.PARTLY_REJECTED
        OUTBOX_FILES.labels(self.profile.name, outcome.value).inc()
        log.info(
            "outbox_file",
            file=name,
            outcome=outcome.value,
            published=published,
            rejected=len(problems),
            moved_to=str(moved),
        )
        return FileReport(name, outcome, published, len(problems), moved)


# -- helpers: what the error file says -------------------------------------------------


def _plain_message(error: HxError, name: str) -> str:
    """The error's text without a leading ``<file>:`` or ``line N:`` (the error file says
    both once, in its own words)."""
    text = str(error)
    text = text.removeprefix(f"{name}: ")
    return _LINE_PREFIX.sub("", text, count=1)


_LINE_PREFIX = re.compile(r"^line \d+: ")


def _messages_of(error: HxError) -> tuple[str, ...]:
    """One message per broken rule: a ValidationFailed lists each issue on its own."""
    if isinstance(error, ValidationFailed) and error.issues:
        return tuple(str(issue) for issue in error.issues)
    return (str(Issue("", str(error))),)


def _error_text(name: str, problems: Sequence[_Problem], published: int) -> bytes:
    """The ``.error.txt``: a summary line, then ``line N: field: rule`` per problem."""
    if published:
        summary = (
            f"{name}: {len(problems)} record(s) rejected, {published} published; "
            f"line numbers are those of the original file, kept in sent/{name}"
        )
    else:
        summary = f"{name}: rejected, nothing was published"
    lines = [summary]
    for problem in sorted(problems, key=lambda p: p.line):
        lines.extend(f"line {problem.line}: {message}" for message in problem.messages)
    # backslashreplace: an error text must never be what fails (a lone surrogate quoted)
    return ("\n".join(lines) + "\n").encode("utf-8", "backslashreplace")


def _lines(content: bytes, numbers: set[int]) -> bytes:
    """The lines ``numbers`` (1-based) of ``content``, with their line ends, in order.

    Lines end at LF (a CRLF line keeps its CR), as the fixed-width profile counts them.
    """
    lines = content.split(b"\n")
    kept = [
        line + b"\n" if index < len(lines) else line
        for index, line in enumerate(lines, start=1)
        if index in numbers
    ]
    return b"".join(kept)
