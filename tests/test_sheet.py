"""Each record-sheet field is declared once (schemas/sheet.py); the XMP, `arhiva show`'s rows and
the index records are derived from the declaration."""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree

from arhiva.archive.xmp import NS_ARHIVA, XmpInfo, arhiva_properties, build_xmp
from arhiva.schemas.models import AccessLevel, DocumentMetadata, IndexRecord
from arhiva.schemas.sheet import SearchRole, searchable, sheet_fields
from arhiva.terminal import sheet_rows

FULL = DocumentMetadata(
    title="Autorizație de construire nr. 12/2024",
    document_type="autorizație de construire",
    issuer="Primăria Sectorului 4",
    issue_date=dt.date(2024, 3, 14),
    registration_number="12/2024",
    fond="Urbanism",
    dosar="7",
    keywords=("urbanism", "ședință"),
    access_level=AccessLevel.public,
    retention="10",
)


def test_show_rows_come_from_the_declarations() -> None:
    assert sheet_rows(FULL) == [
        ("document type", "autorizație de construire"),
        ("issuer", "Primăria Sectorului 4"),
        ("date of issue", "2024-03-14"),
        ("număr de înregistrare", "12/2024"),
        ("location (fond / inventar / dosar)", "Urbanism / - / 7"),
        ("keywords", "urbanism, ședință"),
        ("access level", "public"),
        ("termen de păstrare", "10 years"),
    ]
    empty = dict(sheet_rows(DocumentMetadata(retention="permanent")))
    assert empty["location (fond / inventar / dosar)"] is None and empty["keywords"] is None
    assert empty["termen de păstrare"] == "permanent"


def test_every_field_is_declared_and_written_to_the_xmp() -> None:
    declared = dict(sheet_fields(DocumentMetadata))
    sheet = FULL.model_copy(update={"inventar": "3"})
    assert set(declared) == set(DocumentMetadata.model_fields)  # no field without its declaration
    xmp = build_xmp(
        XmpInfo(
            identifier="a" * 64,
            sheet=sheet,
            languages="ron",
            page_count=1,
            sources=("scan.tif",),
            created=dt.datetime(2026, 12, 2, tzinfo=dt.UTC),
            creator_tool="test",
            producer="test",
        )
    )
    root = ElementTree.fromstring(xmp)
    described = {name for name, _, _ in arhiva_properties()}
    for field, decl in declared.items():
        prefix, _, name = decl.xmp.partition(":")
        if prefix == "arhiva":
            assert name in described, field  # in the packet's extension schema
            value = getattr(sheet, field)
            found = root.find(f".//{{{NS_ARHIVA}}}{name}")
            assert found is not None and found.text == getattr(value, "value", value), field
        else:
            assert root.find(f".//{{http://purl.org/dc/elements/1.1/}}{name}") is not None, field


def test_the_index_record_carries_every_searchable_field() -> None:
    values = searchable(FULL)
    assert set(values) == {n for n, d in sheet_fields(DocumentMetadata) if d.search is not SearchRole.none}
    assert set(values) <= set(IndexRecord.model_fields)
