"""What every JSON province has in common: one message, one JSON object, one event.

A JSON ICD's message is an envelope of a few keys whose last key holds the body; the body
is laid out per message type by a ``Layout`` (``bridge.profiles.json_layout``). So the
work around the layouts is the same for every such province and lives here, in
``JsonProfile``: pick the layout by event type, write the envelope then the body, report
what was cut and dropped, and read a file back as one event or one error.

A province subclass says only what is its own: its class attributes (ICD name, envelope
keys, body layouts, style, media type) and the two envelope methods, which hold its key
names, message type codes, time format and legacy quirks. ``write_envelope`` returns the
envelope keys without the body; ``read_envelope`` gets a document whose keys are all
envelope keys, checks which are required and builds the ``Envelope``. The helpers below
give the errors every JSON ICD words the same way.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from bridge.formats.json_document import JsonDocumentFormat
from bridge.profiles.base import LocalMessage, ParsedLocal, Profile
from bridge.profiles.json_layout import Layout, Style, Writing
from bridge.profiles.paths import dropped_paths
from schemas import Agreement, Envelope, ExchangeEvent
from schemas.errors import LocalFormatError, TranslationError

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class JsonProfile(Profile):
    """Exchange events <-> one province's JSON messages (envelope keys, then the body)."""

    extension: ClassVar[str] = ".json"
    #: The ICD's name in errors: "not a message type of the Jiangsu ICD".
    icd: ClassVar[str]
    #: The media type of a written message.
    media_type: ClassVar[str]
    #: How the ICD writes an absent value (left out, or ``null``).
    style: ClassVar[Style]
    #: The envelope's keys in the order they are written; the last one holds the body.
    envelope_keys: ClassVar[tuple[str, ...]]
    #: The body's layout for each exchange event type the ICD has a message type for.
    bodies: ClassVar[Mapping[str, Layout]]

    def __init__(self, agreement: Agreement | None = None) -> None:
        """``agreement`` is accepted as every profile's is; a JSON mapping needs none."""
        self._json = JsonDocumentFormat(self.media_type)
        #: The exchange paths each body layout carries, computed once.
        self._carried = {event_type: layout.carried() for event_type, layout in self.bodies.items()}

    @property
    def body_key(self) -> str:
        """The envelope key that holds the body ("SJ", "payload")."""
        return self.envelope_keys[-1]

    @abstractmethod
    def write_envelope(self, envelope: Envelope) -> dict[str, Any]:
        """The envelope's keys but the body's, in order; TranslationError naming the field."""

    @abstractmethod
    def read_envelope(self, document: Mapping[str, Any]) -> Envelope:
        """The envelope of a document whose keys are all envelope keys; LocalFormatError
        naming the key and the rule (a required key missing, a bad value)."""

    def to_local(self, event: ExchangeEvent) -> LocalMessage:
        """One message in a file ``<message id>.json``; TranslationError naming the field."""
        envelope = event.envelope
        layout = self.bodies.get(envelope.event_type)
        if layout is None:
            raise TranslationError(
                f"{envelope.event_type}: not a message type of the {self.icd} ICD"
            )
        writing = Writing(self.style)
        document = self.write_envelope(envelope)
        document[self.body_key] = layout.write(event.record, "", writing)
        return LocalMessage(
            file_name=f"{envelope.message_id}{self.extension}",
            content=self._json.encode(document),
            media_type=self._json.media_type,
            truncated=tuple(writing.truncated),
            dropped=dropped_paths(event.record, self._carried[envelope.event_type]),
        )

    def from_local(self, content: bytes, origin: str) -> Iterator[ParsedLocal]:
        """One message, one event (or the error naming the key and the rule)."""
        try:
            event = self._event(self._json.decode(content))
        except LocalFormatError as exc:
            yield ParsedLocal(1, error=LocalFormatError(f"{origin}: {exc}"))
            return
        yield ParsedLocal(1, event=event)

    def _event(self, document: Mapping[str, Any]) -> ExchangeEvent:
        for key in document:
            if key not in self.envelope_keys:
                raise LocalFormatError(f"{key}: is not a key of the {self.icd} envelope")
        envelope = self.read_envelope(document)
        body = self.bodies[envelope.event_type].read(document[self.body_key], self.body_key)
        return ExchangeEvent(envelope, body)


def event_type_of(code: Any, key: str, message_types: Mapping[str, str]) -> str:
    """The exchange event type whose local message type is ``code`` (read from ``key``)."""
    event_type = next((t for t, c in message_types.items() if c == code), None)
    if event_type is None:
        known = ", ".join(message_types.values())
        raise LocalFormatError(f"{key}: is not one of {known}")
    return event_type


def text_of(document: Mapping[str, Any], key: str) -> str:
    """The text at ``key``; LocalFormatError if the value is not text."""
    value = document[key]
    if not isinstance(value, str):
        raise LocalFormatError(f"{key}: must be text")
    return value


def uuid_of(raw: Any, key: str) -> str:
    """A uuid in the record form's lower case; LocalFormatError showing ``raw`` if not one."""
    text = raw.lower() if isinstance(raw, str) else None
    if text is None or not _UUID.fullmatch(text):
        raise LocalFormatError(f"{key}: must be a uuid")
    return text
