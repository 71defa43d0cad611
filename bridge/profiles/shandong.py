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
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, ClassVar

from lxml import etree

from bridge.formats.xml_document import DECLARATION, XmlDocumentFormat
from bridge.profiles.base import LocalMessage, ParsedLocal, Profile
from bridge.profiles.codes import decode_code
from bridge.profiles.paths import dropped_paths, set_path
from bridge.profiles.shandong_layouts import BY_EVENT_TYPE, BodySpec, Kind, Node
from schemas import Agreement, Envelope, ExchangeEvent
from schemas.errors import LocalFormatError, TranslationError
from schemas.package_files import package_file

NAMESPACE = "urn:sdga:hx:1"
SCHEMA_PATH = package_file("bridge.profiles", "shandong.xsd")
OFFSET = timezone(timedelta(hours=8))


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

        The document is written as text (``_rendered``) and those very bytes are parsed
        and validated; when that does not succeed (a value XML cannot hold, a document
        the XSD refuses, anything unforeseen) the element tree is built and validated
        instead, and its error (or its bytes) is the answer. Both give the same bytes
        (tests/unit/test_bridge_shandong.py); the text is ~15 µs cheaper per message.
        """
        envelope = event.envelope
        spec = _spec(envelope.event_type)
        xml = self._xml
        content = _rendered(event)
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
        envelope = event.envelope
        _spec(envelope.event_type)
        root = etree.Element(_ROOT_TAG, nsmap=_NSMAP)
        header = _sub(root, _HEADER_TAG)
        _put_text(header, _TAGS["MessageId"], envelope.message_id, "message_id")
        _put_text(header, _TAGS["MessageType"], envelope.event_type, "event_type")
        _put_text(header, _TAGS["Sender"], envelope.source, "source")
        _put_text(
            header, _TAGS["SentAt"], format_time(envelope.created_at, "created_at"), "created_at"
        )
        if envelope.correlation_id is not None:
            _put_text(header, _TAGS["CorrelationId"], envelope.correlation_id, "correlation_id")
        body = _sub(_sub(root, _BODY_TAG), _TAGS[envelope.event_type])
        _write(body, _STEPS[envelope.event_type], event.record, "")
        return root

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


def format_time(moment: datetime, path: str) -> str:
    """``2026-11-20T09:15:00+08:00``: the instant at UTC+8, to the second."""
    if moment.tzinfo is None:
        raise TranslationError(f"{path}: time without a zone")
    return _local_time(moment)


def _local_time(moment: datetime) -> str:
    """``format_time`` of an aware ``moment``; the fields one by one (``strftime`` through
    ``format`` costs more than the conversion)."""
    local = moment.astimezone(OFFSET)
    return (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
        f"T{local.hour:02d}:{local.minute:02d}:{local.second:02d}+08:00"
    )


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


# -- inbound: the element lists compiled once into writing steps -------------------------


class _Refused(Exception):
    """A value its element cannot hold; the writer adds the field's path (built only then)."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


def _mismatch(value: Any, kind: Kind) -> _Refused:
    return _Refused(f"a {type(value).__name__} is not a {kind.value}")


def _text_writer(node: Node) -> Callable[[Any], str]:
    """The element text of one exchange value of ``node``'s kind, or ``_Refused``."""
    kind = node.kind
    if kind is Kind.CODE:
        assert node.table is not None
        table = node.table

        def code(value: Any) -> str:
            try:
                return table[value]
            except KeyError:
                raise _Refused(f"{value} has no code in this local format") from None

        return code
    if kind is Kind.TIME:

        def time(value: Any) -> str:
            if not isinstance(value, datetime):
                raise _mismatch(value, kind)
            if value.tzinfo is None:
                raise _Refused("time without a zone")
            return _local_time(value)

        return time
    if kind is Kind.DATE:

        def day(value: Any) -> str:
            if not isinstance(value, date) or isinstance(value, datetime):
                raise _mismatch(value, kind)
            return value.isoformat()

        return day
    if kind is Kind.BOOL:

        def boolean(value: Any) -> str:
            if value is True:
                return "true"
            if value is False:
                return "false"
            raise _mismatch(value, kind)

        return boolean
    if kind is Kind.INT:

        def integer(value: Any) -> str:
            if not isinstance(value, int) or isinstance(value, bool):
                raise _mismatch(value, kind)
            return str(value)

        return integer
    if kind is Kind.COORD:

        def coordinate(value: Any) -> str:
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise _mismatch(value, kind)
            return f"{value:.6f}"

        return coordinate

    def text(value: Any) -> str:  # TEXT, UUID, ENUM: the exchange's own string
        if not isinstance(value, str):
            raise _mismatch(value, kind)
        return value

    return text


#: One element to write: the record key, the element's tag, the text writer (None for a
#: group), whether the element repeats per list item, and a group's own steps.
_Step = tuple[str, str, Callable[[Any], str] | None, bool, tuple[Any, ...]]


def _steps(nodes: tuple[Node, ...]) -> tuple[_Step, ...]:
    return tuple(
        (
            node.key,
            f"{{{NAMESPACE}}}{node.element}",
            None if node.kind is Kind.GROUP else _text_writer(node),
            node.repeated,
            _steps(node.children),
        )
        for node in nodes
    )


def _write(
    parent: etree._Element, steps: tuple[_Step, ...], record: Mapping[str, Any], prefix: str
) -> None:
    """The elements of ``record``'s present values, in the ICD's order (``prefix``: the
    record's exchange path, for errors)."""
    for key, tag, writer, repeated, children in steps:
        value = record.get(key)
        if value is None:
            continue
        if not repeated:
            _write_value(parent, tag, writer, children, value, prefix, key, None)
            continue
        for i, item in enumerate(value or ()):
            _write_value(parent, tag, writer, children, item, prefix, key, i)


def _write_value(
    parent: etree._Element,
    tag: str,
    writer: Callable[[Any], str] | None,
    children: tuple[_Step, ...],
    value: Any,
    prefix: str,
    key: str,
    index: int | None,
) -> None:
    if writer is None:
        _write(_sub(parent, tag), children, value, f"{_path(prefix, key, index)}.")
        return
    try:
        text = writer(value)
    except _Refused as exc:
        raise TranslationError(f"{_path(prefix, key, index)}: {exc.rule}") from None
    child = _sub(parent, tag)
    try:
        child.text = text
    except ValueError:
        parent.remove(child)
        raise TranslationError(
            f"{_path(prefix, key, index)}: holds a control character that XML 1.0 cannot carry"
        ) from None


def _put_text(parent: etree._Element, tag: str, text: str, path: str) -> None:
    """A header element; TranslationError naming ``path`` if XML cannot hold the text."""
    child = _sub(parent, tag)
    try:
        child.text = text
    except ValueError:
        parent.remove(child)
        raise TranslationError(
            f"{path}: holds a control character that XML 1.0 cannot carry"
        ) from None


def _path(prefix: str, key: str, index: int | None) -> str:
    return f"{prefix}{key}" if index is None else f"{prefix}{key}[{index}]"


_sub = etree.SubElement
_NSMAP = {None: NAMESPACE}
_TAGS = {
    name: f"{{{NAMESPACE}}}{name}"
    for name in ("MessageId", "MessageType", "Sender", "SentAt", "CorrelationId", *BY_EVENT_TYPE)
}
_ROOT_TAG = f"{{{NAMESPACE}}}Message"
_HEADER_TAG = f"{{{NAMESPACE}}}Header"
_BODY_TAG = f"{{{NAMESPACE}}}Body"
#: Each body's writing steps, compiled once from the element lists.
_STEPS = {event_type: _steps(spec.nodes) for event_type, spec in BY_EVENT_TYPE.items()}


# -- inbound, as text: the bytes lxml's pretty printer gives for the tree above -----------

#: What libxml2 escapes in element text (a CR as a reference, so that it survives parsing).
_SPECIAL = re.compile("[&<>\r]")


def _escaped(text: str) -> str:
    if _SPECIAL.search(text) is None:
        return text
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


#: One element as text: record key, the text writer (None for a group), repeated, a
#: group's own steps, then its pieces with their indentation: a leaf's "<Tag>" and
#: "</Tag>\n"; a group's "<Tag>\n", "</Tag>\n" and its empty form "<Tag/>\n".
_TextStep = tuple[str, Callable[[Any], str] | None, bool, tuple[Any, ...], str, str, str, str, str]


def _text_steps(nodes: tuple[Node, ...], depth: int) -> tuple[_TextStep, ...]:
    indent = "  " * depth
    return tuple(
        (
            node.key,
            None if node.kind is Kind.GROUP else _text_writer(node),
            node.repeated,
            _text_steps(node.children, depth + 1),
            f"{indent}<{node.element}>",
            f"</{node.element}>\n",
            f"{indent}<{node.element}>\n",
            f"{indent}</{node.element}>\n",
            f"{indent}<{node.element}/>\n",
        )
        for node in nodes
    )


def _render(steps: tuple[_TextStep, ...], record: Mapping[str, Any], out: list[str]) -> None:
    """The lines of ``record``'s elements (as ``_write`` makes them) appended to ``out``."""
    for key, writer, repeated, children, start, end, opening, closing, empty in steps:
        value = record.get(key)
        if value is None:
            continue
        for item in (value or ()) if repeated else (value,):
            if writer is not None:
                out += (start, _escaped(writer(item)), end)
                continue
            opened = len(out)
            out.append(opening)
            _render(children, item, out)
            if len(out) == opened + 1:
                out[opened] = empty  # no child: libxml2 writes the empty-element tag
            else:
                out.append(closing)


def _rendered(event: ExchangeEvent) -> bytes | None:
    """The document's bytes after the XML declaration, written as text; None when the
    text cannot be trusted to be the tree's (any error: the tree path decides)."""
    envelope = event.envelope
    try:
        steps = _TEXT_STEPS[envelope.event_type]
        out = [
            _ROOT_LINE,
            "  <Header>\n    <MessageId>",
            _escaped(envelope.message_id),
            "</MessageId>\n    <MessageType>",
            _escaped(envelope.event_type),
            "</MessageType>\n    <Sender>",
            _escaped(envelope.source),
            "</Sender>\n    <SentAt>",
            _escaped(format_time(envelope.created_at, "created_at")),
            "</SentAt>\n",
        ]
        if envelope.correlation_id is not None:
            out += ("    <CorrelationId>", _escaped(envelope.correlation_id), "</CorrelationId>\n")
        out.append("  </Header>\n  <Body>\n")
        _render(steps, {"": event.record}, out)
        out.append("  </Body>\n</Message>\n")
        return "".join(out).encode("utf-8")
    except Exception:  # whatever it is, the tree path names it (or writes the document)
        return None


_ROOT_LINE = f'<Message xmlns="{NAMESPACE}">\n'
#: Each body as one group step (its record under the key ""), at its depth below Body.
_TEXT_STEPS = {
    event_type: _text_steps((Node(event_type, "", Kind.GROUP, children=spec.nodes),), 2)
    for event_type, spec in BY_EVENT_TYPE.items()
}


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
