"""XML documents checked against a shipped XSD (the Shandong container).

Writing: UTF-8 with an XML declaration, two-space indentation, validated before it leaves.
Reading: local XML is untrusted, so it is refused before any parsing when it declares a
DTD or an entity, parsed with entity resolution, DTD loading and network access off and
huge-tree limits on, refused again if the parsed tree has a DTD or an entity reference
(defence in depth), and finally validated against the XSD. Errors name the line and the
element, with the namespace left out so that a duty officer can read them.

Validation uses lxml's ``XMLSchema`` (libxml2): it validates a document in microseconds
(~7 µs for a Shandong message) where the pure-Python ``xmlschema`` takes milliseconds, and
it releases the GIL while it runs. A profile may also write a document as text and have
``is_valid`` check those bytes (one parse, ~11 µs, then the XSD): cheaper than building
the tree element by element in Python (~1.5 µs an element). XSD 1.0 is all the Shandong
schema needs. lxml validators and parsers keep per-call state, so each thread gets its
own pair.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from lxml import etree

from bridge.formats.base import LocalFormat
from schemas.errors import LocalFormatError, TranslationError

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
MEDIA_TYPE = "application/xml"
#: Markup that declares a DTD or an entity: never accepted from a local system.
_DECLARATIONS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_NON_UTF8_BOMS = (b"\xff\xfe", b"\xfe\xff")
_MAX_ERRORS = 3
_POSITION = re.compile(r", line \d+, column \d+$")
_ELEMENT_PREFIX = re.compile(r"^Element '[^']*': ")
#: Where libxml2's schema messages quote the element's content: "The value '张三' ...",
#: "'abc' is not a valid value of the atomic type ...". Replaced, never shown.
_QUOTED_VALUE = re.compile(r"(?:[Tt]he value |^)'[^']*'")


class XmlDocumentFormat(LocalFormat[etree._Element]):
    """One XML vocabulary: its namespace and its XSD; writes and reads whole documents."""

    media_type = MEDIA_TYPE

    def __init__(self, namespace: str, schema_path: Path) -> None:
        self.namespace = namespace
        self._schema_path = schema_path
        self._local = threading.local()
        self._schema()  # fail at construction, not at the first message, if the XSD is bad

    def element(self, name: str, parent: etree._Element | None = None) -> etree._Element:
        """A new element of this namespace (the default namespace when it is the root)."""
        tag = f"{{{self.namespace}}}{name}"
        if parent is None:
            return etree.Element(tag, nsmap={None: self.namespace})
        return etree.SubElement(parent, tag)

    def text_element(self, parent: etree._Element, name: str, text: str, path: str) -> None:
        """A child holding ``text``; TranslationError naming ``path`` if XML cannot hold it."""
        set_text(parent, self.element(name, parent), text, lambda: path)

    def encode(self, structure: etree._Element) -> bytes:
        """The document's bytes, after validating it; TranslationError naming the element."""
        root = structure
        schema = self._schema()
        if not schema.validate(root):
            raise TranslationError(self._invalid(schema, root))
        body: bytes = etree.tostring(
            root, encoding="UTF-8", xml_declaration=False, pretty_print=True
        )
        return DECLARATION + body

    def is_valid(self, content: bytes) -> bool:
        """Whether ``content`` (a document this bridge wrote, without DTD or entities) is
        well-formed and valid against the XSD: the bytes themselves checked, not a tree."""
        try:
            root = etree.fromstring(content, self._parser())
        except etree.XMLSyntaxError:
            return False
        return bool(self._schema().validate(root))

    def decode(self, content: bytes) -> etree._Element:
        """The root of a local document; LocalFormatError when it is unsafe, broken or invalid."""
        if content.startswith(_NON_UTF8_BOMS):
            raise LocalFormatError("line 1: the document is not UTF-8")
        found = _DECLARATIONS.search(content)
        if found:
            kind = found.group(1).decode().upper()
            line = content.count(b"\n", 0, found.start()) + 1
            raise LocalFormatError(
                f"line {line}: a {kind} declaration is not allowed: "
                "local XML may not carry a DTD or entities"
            )
        try:
            root = etree.fromstring(content, self._parser())
        except etree.XMLSyntaxError as exc:
            message = _POSITION.sub("", str(exc.msg))
            raise LocalFormatError(f"line {exc.lineno}: not well-formed XML: {message}") from None
        refuse_dtd_and_entities(root)
        refuse_mixed_values(root)
        schema = self._schema()
        if not schema.validate(root):
            raise LocalFormatError(self._invalid(schema, root))
        return root

    def children(self, parent: etree._Element, name: str) -> Iterator[etree._Element]:
        """The children of ``parent`` called ``name``, in document order."""
        found: Iterator[etree._Element] = parent.iterchildren(f"{{{self.namespace}}}{name}")
        return found

    def child(self, parent: etree._Element, name: str) -> etree._Element | None:
        """The first child called ``name``, or None."""
        return next(self.children(parent, name), None)

    def local_name(self, element: etree._Element) -> str:
        name: str = etree.QName(element).localname
        return name

    def _invalid(self, schema: etree.XMLSchema, root: etree._Element) -> str:
        errors = _errors(schema, root).replace(f"{{{self.namespace}}}", "")
        return f"document breaks {self._schema_path.name}: {errors}"

    def _schema(self) -> etree.XMLSchema:
        schema: etree.XMLSchema | None = getattr(self._local, "schema", None)
        if schema is None:
            document = etree.parse(str(self._schema_path), self._parser())
            schema = etree.XMLSchema(document)
            self._local.schema = schema
        return schema

    def _parser(self) -> etree.XMLParser:
        parser: etree.XMLParser | None = getattr(self._local, "parser", None)
        if parser is None:
            parser = self._local.parser = hardened_parser()
        return parser


def set_text(
    parent: etree._Element, child: etree._Element, text: str, path: Callable[[], str]
) -> None:
    """``child.text = text``; if XML 1.0 cannot carry it, ``child`` leaves ``parent`` and a
    TranslationError names the field (``path()``, built only then), never the value."""
    try:
        child.text = text
    except ValueError:
        parent.remove(child)
        raise TranslationError(
            f"{path()}: holds a control character that XML 1.0 cannot carry"
        ) from None


def hardened_parser() -> etree.XMLParser:
    """A parser that resolves no entity, loads no DTD and touches no network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
    )


def refuse_dtd_and_entities(root: etree._Element) -> None:
    """LocalFormatError if a parsed document has a DTD, an entity reference or is not UTF-8."""
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.system_url or info.public_id:
        raise LocalFormatError("line 1: a DTD is not allowed in local XML")
    if (info.encoding or "UTF-8").upper() not in ("UTF-8", "UTF8"):
        raise LocalFormatError(f"line 1: the document is {info.encoding}, not UTF-8")
    for entity in root.iter(etree.Entity):
        raise LocalFormatError(
            f"line {entity.sourceline}: the entity reference {entity.text} is not allowed"
        )


def refuse_mixed_values(root: etree._Element) -> None:
    """LocalFormatError if a comment or processing instruction sits inside a value.

    The XSD validates a simple-typed element by its whole text (``09:15:00<!---->+08:00``
    is a valid time), while ``element.text`` is only the text before the first comment or
    PI: reading on would take a value the schema never saw (a time without its offset, a
    reason cut short). Such markup between elements is harmless and left alone; inside an
    element without element children it is refused. CDATA needs no rule: the parser
    merges it into the text.
    """
    for node in root.iter(etree.Comment, etree.ProcessingInstruction):
        parent = node.getparent()
        if parent is None or any(isinstance(child.tag, str) for child in parent):
            continue
        kind = "comment" if isinstance(node, etree._Comment) else "processing instruction"
        name = etree.QName(parent).localname
        raise LocalFormatError(
            f"line {node.sourceline}: {name}: a {kind} inside a value is not allowed "
            "(the value would be read cut)"
        )


def _errors(schema: etree.XMLSchema, root: etree._Element) -> str:
    """The first few validation errors, each with its line and element path (no namespace)."""
    messages = []
    for entry in list(schema.error_log)[:_MAX_ERRORS]:
        where = f"line {entry.line}: " if entry.line > 0 else ""
        message = _QUOTED_VALUE.sub("the value", _ELEMENT_PREFIX.sub("", entry.message))
        messages.append(f"{where}{_element_path(root, entry.path)}: {message}")
    return "; ".join(messages)


def _element_path(root: etree._Element, xpath: str | None) -> str:
    """``Message/Body/VehicleAlert/LastSeen/AdminCode`` for the element ``xpath`` selects."""
    try:
        found = root.getroottree().xpath(xpath) if xpath else []
    except etree.XPathError:
        found = []
    if not found or not isinstance(found[0], etree._Element):
        return xpath or "document"
    element = found[0]
    names = [etree.QName(e).localname for e in (element, *element.iterancestors())]
    return "/".join(reversed(names))
