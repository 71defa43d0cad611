"""Shandong 鲁 (Zaozhuang, Jining, Linyi, Heze): one XML document per message (icd/shandong.md).

The element lists of ``bridge.profiles.shandong_layouts`` drive both directions: an absent
value leaves its element out, a list repeats its element, enums travel as the exchange's
own names, sex, plate type and body colour as their codes. Every exchange symbol has a
Shandong form (default symbols included), so the only values this profile cannot express
are those the XSD or XML 1.0 refuses (a TranslationError naming the field or element).
Fields the ICD has no element for are listed in ``LocalMessage.dropped``.

Times are written with the ``+08:00`` offset, to the second: the exchange's milliseconds
are below the ICD's resolution and are not reported as a loss. Read times may carry a
fraction, kept to the millisecond. Coordinates are written with six decimals.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from lxml import etree

from bridge.formats.xml_document import DECLARATION, XmlDocumentFormat
from bridge.profiles.base import LocalMessage, ParsedLocal, Profile
from bridge.profiles.codes import decode_code
from bridge.profiles.paths import dropped_paths, set_path
from bridge.profiles.shandong_layouts import BY_EVENT_TYPE, BodySpec, Kind, Node
from bridge.profiles.shandong_writing import NAMESPACE, OFFSET, element_tree, rendered
from schemas import Agreement, Envelope, ExchangeEvent
from schemas.errors import LocalFormatError, TranslationError
from schemas.package_files import package_file

SCHEMA_PATH = package_file("bridge.profiles", "shandong.xsd")


class ShandongProfile(Profile):
    """Exchange events <-> Shandong XML documents."""

    name: ClassVar[str] = "shandong"
    version: ClassVar[str] = "1.0"
    extension: ClassVar[str] = ".xml"

    def __init__(self, agreement: Agreement | None = None) -> None:
        """``agreement`` is accepted like every profile's; Shandong's mapping needs none of it."""
        self._xml = XmlDocumentFormat(NAMESPACE, SCHEMA_PATH)

    def to_local(self, event: ExchangeEvent) -> LocalMessage:
        """One document, validated against the XSD, in a file ``<MessageId>.xml``.

        The document is written as text (``shandong_writing.rendered``) and those very
        bytes are parsed and validated; when that does not succeed (a value XML cannot
        hold, a document the XSD refuses, anything unforeseen) the element tree is built
        and validated instead, and its error (or its bytes) is the answer. Both give the
        same bytes (tests/unit/test_bridge_shandong.py); the text costs ~15 µs less.
        """
        envelope = event.envelope
        spec = _spec(envelope.event_type)
        xml = self._xml
        content = rendered(event)
        if content is None or not xml.is_valid(content):
            content = xml.encode(self.tree(event))
        else:
            content = DECLARATION + content
        return LocalMessage(
            file_name=f"{envelope.message_id}{self.extension}",
            content=content,
            media_type=xml.media_type,
            dropped=dropped_paths(event.record, _CARRIED[spec.event_type]),
        )

    def tree(self, event: ExchangeEvent) -> etree._Element:
        """The document's element tree (not yet validated); TranslationError naming the
        field whose value its element cannot hold."""
        _spec(event.envelope.event_type)
        return element_tree(event)

    def from_local(self, content: bytes, origin: str) -> Iterator[ParsedLocal]:
        """One document, one event (or the error naming line, element and rule)."""
        try:
            event = self._event(self._xml.decode(content))
        except LocalFormatError as exc:
            yield ParsedLocal(1, error=LocalFormatError(f"{origin}: {exc}"))
            return
        yield ParsedLocal(1, event=event)

    # -- outbound --------------------------------------------------------------------------

    def _event(self, root: etree._Element) -> ExchangeEvent:
        xml = self._xml
        header = _required(xml.child(root, "Header"), "Header")
        fields = {name: self._header_text(header, name) for name in _HEADER}
        # The first element of Body: a comment or PI may stand before it (found by fuzzing).
        children = _required(xml.child(root, "Body"), "Body")
        body = _required(next((e for e in children if isinstance(e.tag, str)), None), "Body/*")
        event_type = xml.local_name(body)
        if fields["MessageType"] != event_type:
            raise LocalFormatError(
                f"line {body.sourceline}: Header/MessageType says {fields['MessageType']} "
                f"but the Body holds {event_type}"
            )
        spec = _spec(event_type)
        record = self._read(body, spec.nodes)
        for path, empty in spec.not_carried.items():
            set_path(record, path, [] if isinstance(empty, list) else None)
        envelope = Envelope(
            event_type=event_type,
            source=str(fields["Sender"]),
            message_id=str(fields["MessageId"]).lower(),
            created_at=_converted(_required(xml.child(header, "SentAt"), "SentAt"), parse_time),
            correlation_id=fields["CorrelationId"],
        )
        return ExchangeEvent(envelope, record)

    def _header_text(self, header: etree._Element, name: str) -> str | None:
        element = self._xml.child(header, name)
        return None if element is None else str(element.text or "")

    def _read(self, parent: etree._Element, nodes: tuple[Node, ...]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for node in nodes:
            elements = list(self._xml.children(parent, node.element))
            if node.repeated:
                record[node.key] = [self._read_value(node, e) for e in elements]
            else:
                record[node.key] = self._read_value(node, elements[0]) if elements else None
        return record

    def _read_value(self, node: Node, element: etree._Element) -> Any:
        if node.kind is Kind.GROUP:
            return self._read(element, node.children)
        text = str(element.text or "")
        if node.kind is Kind.CODE:
            assert node.table is not None
            return decode_code(node.table, text, f"line {element.sourceline}: {node.element}")
        return _converted(element, _READERS[node.kind])


_HEADER = ("MessageId", "MessageType", "Sender", "CorrelationId")
#: The exchange paths each body carries, computed once (``dropped_paths`` of every message).
_CARRIED = {event_type: spec.carried() for event_type, spec in BY_EVENT_TYPE.items()}


def _spec(event_type: str) -> BodySpec:
    spec = BY_EVENT_TYPE.get(event_type)
    if spec is None:
        raise TranslationError(f"{event_type}: not an event type of the Shandong ICD")
    return spec


_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?\+08:00", re.ASCII)


def parse_time(text: str) -> datetime:
    """A UTC datetime to the millisecond from an xs:dateTime with the ICD's +08:00 offset.

    The offset is required (as the XSD's pattern says), never taken from the host: a time
    without one would otherwise be read in the bridge's own zone.
    """
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise ValueError("must be a time yyyy-MM-ddTHH:mm:ss+08:00")
    clock, fraction = match.groups()
    try:
        local = datetime.fromisoformat(clock).replace(tzinfo=OFFSET)
    except ValueError:
        raise ValueError("is not a real time (month, day or hour out of range)") from None
    try:
        moment = local.astimezone(UTC)
    except OverflowError:
        raise ValueError("must lie between the years 1900 and 2100") from None
    millis = int(((fraction or ".")[1:4]).ljust(3, "0"))
    return moment.replace(microsecond=millis * 1000)


_READERS: dict[Kind, Callable[[str], Any]] = {
    Kind.TEXT: str,
    Kind.ENUM: str,
    Kind.UUID: str.lower,
    Kind.INT: lambda text: int(text.strip()),
    Kind.BOOL: lambda text: text.strip() in ("true", "1"),
    Kind.TIME: parse_time,
    Kind.DATE: lambda text: date.fromisoformat(text.strip()),
    Kind.COORD: lambda text: float(text.strip()),
}
_RULES: dict[Callable[[str], Any], str] = {
    _READERS[Kind.INT]: "must be a whole number",
    _READERS[Kind.DATE]: "must be a date yyyy-MM-dd",
    _READERS[Kind.COORD]: "must be a number of decimal degrees",
}


def _converted(element: etree._Element, reader: Callable[[str], Any]) -> Any:
    """The value of an element's text, or LocalFormatError naming the line, element and rule.

    The rule is the reader's own words when it is ours (``parse_time``), a generic one for
    Python's conversions, whose messages quote the value.
    """
    try:
        return reader(str(element.text or ""))
    except (ValueError, OverflowError) as exc:
        name = etree.QName(element).localname
        rule = str(exc) if reader is parse_time else _RULES.get(reader, "has the wrong form")
        raise LocalFormatError(f"line {element.sourceline}: {name}: {rule}") from None


def _required(element: etree._Element | None, name: str) -> etree._Element:
    if element is None:  # the XSD requires it; kept for a clear message all the same
        raise LocalFormatError(f"{name}: required element missing")
    return element
