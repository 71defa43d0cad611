"""The one small interface every province profile implements.

A profile maps exchange events (envelope + record dict, docs/architecture.md) to one
province's local bytes and back. It knows field names, code tables, time zones, coordinate
systems and legacy quirks; the container format (JSON, XML, fixed-width) is a module of
``bridge.formats`` that the profile uses. Profiles do no I/O: sinks and the outbox watcher
do that.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from schemas import Agreement, ExchangeEvent
from schemas.errors import HxError


@dataclass(frozen=True, slots=True)
class LocalMessage:
    """Local bytes for one exchange event, and what the translation could not keep."""

    file_name: str  # "<message id>.json" / ".xml" / ".dat": the idempotency key on disk
    content: bytes
    #: "application/json; charset=utf-8", "application/xml" or "text/plain; charset=gb18030".
    media_type: str
    #: Exchange field paths cut to fit the local format (e.g. "reason", "contact.unit").
    truncated: tuple[str, ...] = ()
    #: Exchange field paths that the local format does not carry at all.
    dropped: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedLocal:
    """One unit of outbound local input: an event, or the error that names line and field."""

    line: int  # 1-based line (fixed-width batches); 1 for single-document formats
    event: ExchangeEvent | None = None
    error: HxError | None = None


class Profile(ABC):
    """A province's translation, exchange <-> local. Stateless; safe to share."""

    #: Registry name, the agreement's ``[provinces.X] format`` value ("jiangsu").
    name: ClassVar[str]
    #: Version of this mapping; recorded in every audit record of a delivery.
    version: ClassVar[str]
    #: File extension of one local message (".json", ".xml", ".dat").
    extension: ClassVar[str]

    def __init__(self, agreement: Agreement | None = None) -> None:  # noqa: B027 - optional hook
        """Every profile is built the same way (``get_profile``); a mapping that needs the
        agreement (a province's own agencies) takes it from here."""

    @abstractmethod
    def to_local(self, event: ExchangeEvent) -> LocalMessage:
        """Inbound: translate one exchange event; TranslationError if it cannot be expressed."""

    @abstractmethod
    def from_local(self, content: bytes, origin: str) -> Iterator[ParsedLocal]:
        """Outbound: parse local bytes (a file from the outbox) into exchange events.

        Records come out in the record form, not yet validated against the domain rules
        (the outbox publisher validates); legacy quirks of the ICD are normalised here.
        Errors are yielded as ``ParsedLocal(line, error=LocalFormatError(...))``.
        """
