"""Writing a Shandong document (icd/shandong.md): as an element tree, and as text.

``element_tree`` builds the lxml tree of an event, element by element, from the element
lists of ``bridge.profiles.shandong_layouts`` (compiled once into writing steps: tags and
a text writer per kind); a value its element cannot hold is a TranslationError naming the
field. ``rendered`` writes the same document as text, the bytes lxml's pretty printer
gives for that tree (two-space indentation, ``&``, ``<``, ``>`` and CR escaped), about
twice as fast; it gives up (None) on anything unusual, and the profile then takes the
tree. Either way the profile validates the document against the XSD before it leaves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from lxml import etree

from bridge.formats.xml_document import set_text
from bridge.profiles.shandong_layouts import BY_EVENT_TYPE, Kind, Node
from schemas import ExchangeEvent
from schemas.errors import TranslationError

NAMESPACE = "urn:sdga:hx:1"
OFFSET = timezone(timedelta(hours=8))


def element_tree(event: ExchangeEvent) -> etree._Element:
    """The document's element tree (not yet validated); TranslationError naming the field."""
    envelope = event.envelope
    root = etree.Element(_ROOT_TAG, nsmap=_NSMAP)
    header = _sub(root, _HEADER_TAG)
    _put_text(header, _TAGS["MessageId"], envelope.message_id, "message_id")
    _put_text(header, _TAGS["MessageType"], envelope.event_type, "event_type")
    _put_text(header, _TAGS["Sender"], envelope.source, "source")
    _put_text(header, _TAGS["SentAt"], format_time(envelope.created_at, "created_at"), "created_at")
    if envelope.correlation_id is not None:
        _put_text(header, _TAGS["CorrelationId"], envelope.correlation_id, "correlation_id")
    body = _sub(_sub(root, _BODY_TAG), _TAGS[envelope.event_type])
    _write(body, _STEPS[envelope.event_type], event.record, "")
    return root


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
    set_text(parent, _sub(parent, tag), text, lambda: _path(prefix, key, index))


def _put_text(parent: etree._Element, tag: str, text: str, path: str) -> None:
    """A header element; TranslationError naming ``path`` if XML cannot hold the text."""
    set_text(parent, _sub(parent, tag), text, lambda: path)


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


def rendered(event: ExchangeEvent) -> bytes | None:
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
