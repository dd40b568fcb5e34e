"""XMP metadata for PDF/A-2b: Dublin Core, XMP basic, paged-text, and arhiva's own fields.

arhiva's fields live in their own namespace, described by a PDF/A extension schema in the
same packet, as PDF/A requires of any property outside the predefined schemas. The record
sheet's fields are written as they declare (schemas/sheet.py): a Dublin Core term, or an
arhiva: property described by the field's own description.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from xml.sax.saxutils import escape

from arhiva.schemas.models import DocumentMetadata
from arhiva.schemas.sheet import as_text, sheet_fields

NS_ARHIVA = "https://arhiva.ps4.ro/ns/1.0/"

# (name, XMP value type, description) of the arhiva: properties that are not record-sheet fields;
# a record-sheet field declares its own (schemas/sheet.py). Record properties come first in the
# packet, then the sheet's, then how the document was processed.
RECORD_PROPERTIES: tuple[tuple[str, str, str], ...] = (
    ("collection", "Text", "Collection (fond of the archive) the document belongs to"),
    ("batch", "Text", "Scanner batch the document was ingested from"),
    ("replaces", "Text", "Identifier of the earlier version of this record, which this re-scan replaces"),
)
PROCESSING_PROPERTIES: tuple[tuple[str, str, str], ...] = (
    ("ocrEngine", "Text", "OCR engine and version"),
    ("ocrLanguages", "Text", "OCR languages"),
    ("meanConfidence", "Real", "Mean OCR word confidence, 0-100"),
    ("pipelineVersion", "Text", "Version of the arhiva pipeline"),
)
_VALUE_TYPES = {int: "Integer", float: "Real", dt.date: "Date"}


def _value_type(annotation: object) -> str:
    return next(
        (name for t, name in _VALUE_TYPES.items() if t in getattr(annotation, "__args__", ())), "Text"
    )


@cache
def _sheet_properties() -> tuple[tuple[str, str, str, str], ...]:
    """(field, arhiva: name, value type, description) of the record-sheet fields in arhiva's namespace."""
    return tuple(
        (
            field,
            decl.xmp.removeprefix("arhiva:"),
            _value_type(DocumentMetadata.model_fields[field].annotation),
            (DocumentMetadata.model_fields[field].description or field).rstrip("."),
        )
        for field, decl in sheet_fields(DocumentMetadata)
        if decl.xmp.startswith("arhiva:")
    )


def arhiva_properties() -> tuple[tuple[str, str, str], ...]:
    """(name, XMP value type, description) of every arhiva: property, in the packet's order."""
    sheet = tuple((name, vtype, desc) for _, name, vtype, desc in _sheet_properties())
    return RECORD_PROPERTIES + sheet + PROCESSING_PROPERTIES


_LANG_CODES = {
    "ron": "ro",
    "eng": "en",
    "fra": "fr",
    "deu": "de",
    "hun": "hu",
    "ita": "it",
    "rus": "ru",
}


@dataclass(frozen=True)
class XmpInfo:
    identifier: str
    sheet: DocumentMetadata  # the record sheet, its title and access level resolved
    languages: str  # Tesseract codes, e.g. 'ron+eng'
    page_count: int
    sources: tuple[str, ...]
    created: dt.datetime
    creator_tool: str
    producer: str
    arhiva: dict[str, str] = field(default_factory=dict)  # RECORD_ and PROCESSING_PROPERTIES


def _date(d: dt.datetime) -> str:
    return d.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bag(tag: str, values: list[str] | tuple[str, ...], kind: str = "Bag") -> str:
    items = "".join(f"<rdf:li>{escape(v)}</rdf:li>" for v in values)
    return f"<{tag}><rdf:{kind}>{items}</rdf:{kind}></{tag}>"


def _extension_schema() -> str:
    props = "".join(
        '<rdf:li rdf:parseType="Resource">'
        f"<pdfaProperty:name>{name}</pdfaProperty:name>"
        f"<pdfaProperty:valueType>{vtype}</pdfaProperty:valueType>"
        "<pdfaProperty:category>external</pdfaProperty:category>"
        f"<pdfaProperty:description>{escape(desc)}</pdfaProperty:description>"
        "</rdf:li>"
        for name, vtype, desc in arhiva_properties()
    )
    return (
        '<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">'
        "<pdfaSchema:schema>arhiva archival record</pdfaSchema:schema>"
        f"<pdfaSchema:namespaceURI>{NS_ARHIVA}</pdfaSchema:namespaceURI>"
        "<pdfaSchema:prefix>arhiva</pdfaSchema:prefix>"
        f"<pdfaSchema:property><rdf:Seq>{props}</rdf:Seq></pdfaSchema:property>"
        "</rdf:li></rdf:Bag></pdfaExtension:schemas>"
    )


# The Dublin Core terms a record-sheet field may declare, each with its XMP shape.
_DUBLIN_CORE = {
    "dc:title": lambda v: (
        f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(v)}</rdf:li></rdf:Alt></dc:title>'
    ),
    "dc:type": lambda v: _bag("dc:type", [v]),
    "dc:date": lambda v: _bag("dc:date", [v], "Seq"),
    "dc:subject": lambda v: _bag("dc:subject", v),
}


def _sheet_dublin_core(sheet: DocumentMetadata) -> dict[str, str]:
    """The XMP of the sheet's Dublin Core fields, by term; dc:type is 'Text' when not given."""
    out = {}
    for name, decl in sheet_fields(DocumentMetadata):
        if not decl.xmp.startswith("dc:"):
            continue
        if decl.xmp not in _DUBLIN_CORE:
            raise ValueError(f"record-sheet field {name}: no XMP shape for {decl.xmp}")
        value = getattr(sheet, name)
        if decl.xmp == "dc:type" and not value:
            value = "Text"
        if value:
            shown = [as_text(v) for v in value] if isinstance(value, tuple) else as_text(value)
            out[decl.xmp] = _DUBLIN_CORE[decl.xmp](shown)
    return out


def build_xmp(info: XmpInfo) -> bytes:
    known = {name for name, _, _ in RECORD_PROPERTIES + PROCESSING_PROPERTIES}
    unknown = set(info.arhiva) - known
    if unknown:
        raise ValueError(f"unknown arhiva XMP properties: {sorted(unknown)}")
    sheet = info.sheet
    langs = [_LANG_CODES.get(code, code) for code in info.languages.split("+")]
    dublin_core = _sheet_dublin_core(sheet)
    dc = [
        f"<dc:identifier>{escape(info.identifier)}</dc:identifier>",
        "<dc:format>application/pdf</dc:format>",
        dublin_core.pop("dc:title", ""),
        _bag("dc:language", langs),
        dublin_core.pop("dc:type"),
        f"<dc:source>{escape('; '.join(info.sources))}</dc:source>",
        *dublin_core.values(),
    ]
    values = {name: info.arhiva.get(name, "") for name, _, _ in RECORD_PROPERTIES}
    for field_name, name, _, _ in _sheet_properties():
        value = getattr(sheet, field_name)
        values[name] = as_text(value) if value is not None else ""
    values |= {name: info.arhiva.get(name, "") for name, _, _ in PROCESSING_PROPERTIES}
    keywords = sheet.keywords
    now = _date(info.created)
    arhiva = "".join(f"<arhiva:{k}>{escape(v)}</arhiva:{k}>" for k, v in values.items() if v)
    body = (
        '<rdf:Description rdf:about=""'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        ' xmlns:pdf="http://ns.adobe.com/pdf/1.3/"'
        ' xmlns:xmpTPg="http://ns.adobe.com/xap/1.0/t/pg/"'
        ' xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"'
        ' xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"'
        ' xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"'
        ' xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#"'
        f' xmlns:arhiva="{NS_ARHIVA}">'
        "<pdfaid:part>2</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance>"
        + "".join(dc)
        + f"<xmp:CreateDate>{now}</xmp:CreateDate><xmp:ModifyDate>{now}</xmp:ModifyDate>"
        f"<xmp:MetadataDate>{now}</xmp:MetadataDate>"
        f"<xmp:CreatorTool>{escape(info.creator_tool)}</xmp:CreatorTool>"
        f"<pdf:Producer>{escape(info.producer)}</pdf:Producer>"
        + (f"<pdf:Keywords>{escape(', '.join(keywords))}</pdf:Keywords>" if keywords else "")
        + f"<xmpTPg:NPages>{info.page_count}</xmpTPg:NPages>"
        + arhiva
        + _extension_schema()
        + "</rdf:Description>"
    )
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f"{body}</rdf:RDF></x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")
