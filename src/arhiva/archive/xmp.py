"""XMP metadata for PDF/A-2b: Dublin Core, XMP basic, paged-text, and arhiva's own fields.

arhiva's fields live in their own namespace, described by a PDF/A extension schema in the
same packet, as PDF/A requires of any property outside the predefined schemas.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

NS_ARHIVA = "https://arhiva.ps4.ro/ns/1.0/"

# (name, XMP value type, description) of every arhiva: property.
ARHIVA_PROPERTIES: tuple[tuple[str, str, str], ...] = (
    ("collection", "Text", "Collection (fond of the archive) the document belongs to"),
    ("batch", "Text", "Scanner batch the document was ingested from"),
    ("registrationNumber", "Text", "Număr de înregistrare"),
    ("issuer", "Text", "Issuer of the document"),
    ("fond", "Text", "Physical location: fond"),
    ("inventar", "Text", "Physical location: inventar"),
    ("dosar", "Text", "Physical location: dosar"),
    ("accessLevel", "Text", "public, internal or restricted"),
    ("retention", "Text", "Termen de păstrare: years or permanent"),
    ("ocrEngine", "Text", "OCR engine and version"),
    ("ocrLanguages", "Text", "OCR languages"),
    ("meanConfidence", "Real", "Mean OCR word confidence, 0-100"),
    ("pipelineVersion", "Text", "Version of the arhiva pipeline"),
)

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
    title: str
    languages: str  # Tesseract codes, e.g. 'ron+eng'
    page_count: int
    sources: tuple[str, ...]
    created: dt.datetime
    creator_tool: str
    producer: str
    document_type: str | None = None
    issue_date: dt.date | None = None
    keywords: tuple[str, ...] = ()
    arhiva: dict[str, str] = field(default_factory=dict)  # keys from ARHIVA_PROPERTIES


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
        for name, vtype, desc in ARHIVA_PROPERTIES
    )
    return (
        '<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">'
        "<pdfaSchema:schema>arhiva archival record</pdfaSchema:schema>"
        f"<pdfaSchema:namespaceURI>{NS_ARHIVA}</pdfaSchema:namespaceURI>"
        "<pdfaSchema:prefix>arhiva</pdfaSchema:prefix>"
        f"<pdfaSchema:property><rdf:Seq>{props}</rdf:Seq></pdfaSchema:property>"
        "</rdf:li></rdf:Bag></pdfaExtension:schemas>"
    )


def build_xmp(info: XmpInfo) -> bytes:
    known = {name for name, _, _ in ARHIVA_PROPERTIES}
    unknown = set(info.arhiva) - known
    if unknown:
        raise ValueError(f"unknown arhiva XMP properties: {sorted(unknown)}")
    langs = [_LANG_CODES.get(code, code) for code in info.languages.split("+")]
    dc = [
        f"<dc:identifier>{escape(info.identifier)}</dc:identifier>",
        "<dc:format>application/pdf</dc:format>",
        f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(info.title)}</rdf:li></rdf:Alt></dc:title>',
        _bag("dc:language", langs),
        _bag("dc:type", [info.document_type or "Text"]),
        f"<dc:source>{escape('; '.join(info.sources))}</dc:source>",
    ]
    if info.issue_date:
        dc.append(_bag("dc:date", [info.issue_date.isoformat()], "Seq"))
    if info.keywords:
        dc.append(_bag("dc:subject", info.keywords))
    now = _date(info.created)
    arhiva = "".join(f"<arhiva:{k}>{escape(v)}</arhiva:{k}>" for k, v in info.arhiva.items() if v)
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
        + (f"<pdf:Keywords>{escape(', '.join(info.keywords))}</pdf:Keywords>" if info.keywords else "")
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
