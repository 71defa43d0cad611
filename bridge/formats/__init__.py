"""Local container formats: one module per format behind one small interface."""

from bridge.formats.base import LocalFormat
from bridge.formats.fixed_width import FieldKind, FixedField, FixedRecord, FixedWidthFormat, Layout
from bridge.formats.json_document import JSON_MEDIA_TYPE, JsonDocumentFormat
from bridge.formats.xml_document import XmlDocumentFormat

__all__ = [
    "JSON_MEDIA_TYPE",
    "FieldKind",
    "FixedField",
    "FixedRecord",
    "FixedWidthFormat",
    "JsonDocumentFormat",
    "Layout",
    "LocalFormat",
    "XmlDocumentFormat",
]
