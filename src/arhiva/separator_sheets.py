"""`arhiva separators`: sheets to put between the documents of a stack before it is scanned.

Each A4 sheet carries a QR code (`arhiva.schemas.separator`) and, for the operator, the same
fields written out in plain text. A manifest's documents give one sheet each, with their record
sheets in the code; without one, sheets carry no fields.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

from arhiva import atomic
from arhiva.ingest.manifest import read_manifest
from arhiva.paper import PAPER_SIZES_MM, font_path
from arhiva.schemas.models import DocumentMetadata
from arhiva.schemas.separator import SEPARATOR_PREFIX
from arhiva.schemas.sheet import as_text, sheet_fields

DPI = 300
QR_MM = 50


def separator_text(sheet: DocumentMetadata) -> str:
    """The code's text: the prefix, and the sheet's fields (those given) as a URL query."""
    fields = [
        (name, ";".join(value) if name == "keywords" else as_text(value))
        for name, value in sheet.model_dump(exclude_defaults=True).items()
    ]
    query = urllib.parse.urlencode(fields, quote_via=urllib.parse.quote, safe="/")
    return f"{SEPARATOR_PREFIX}?{query}" if query else SEPARATOR_PREFIX


def sheet_image(sheet: DocumentMetadata, number: int | None = None) -> Image.Image:
    """One A4 separator sheet at 300 dpi, greyscale: the heading, the QR code, the fields."""
    w_mm, h_mm = PAPER_SIZES_MM["a4"]
    size = (round(w_mm / 25.4 * DPI), round(h_mm / 25.4 * DPI))
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    mm = DPI / 25.4
    bold = ImageFont.truetype(str(font_path("sans")), round(28 / 72 * DPI))
    plain = ImageFont.truetype(str(font_path("sans")), round(12 / 72 * DPI))
    heading = "SEPARATOR  ·  ARHIVA" + (f"  ·  {number}" if number is not None else "")
    draw.text((size[0] / 2, 25 * mm), heading, font=bold, fill=0, anchor="mt")
    code = zxingcpp.create_barcode(separator_text(sheet), zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    modules = np.asarray(code.to_image(scale=1)).shape[1]
    qr = Image.fromarray(np.asarray(code.to_image(scale=max(1, round(QR_MM * mm / modules)))))
    page.paste(qr, (round((size[0] - qr.width) / 2), round(45 * mm)))
    y = 45 * mm + qr.height + 15 * mm
    lines = [
        f"{spec.label or 'title'}: {_shown(getattr(sheet, name))}"
        for name, spec in sheet_fields(DocumentMetadata)
        if getattr(sheet, name) not in (None, ())
    ] or ["(no record sheet: the document takes its title from the stack)"]
    for line in lines:
        draw.text((25 * mm, y), line, font=plain, fill=0)
        y += 8 * mm
    draw.text(
        (size[0] / 2, size[1] - 20 * mm),
        "Put this sheet before the document it opens. It is not archived.",
        font=plain,
        fill=0,
        anchor="mb",
    )
    page.info["dpi"] = (DPI, DPI)
    return page


def _shown(value: object) -> str:
    return "; ".join(value) if isinstance(value, tuple) else as_text(value)


def sheets_from(manifest: Path | None, count: int) -> Iterator[DocumentMetadata]:
    """The record sheets to print: one per document of the manifest, else `count` empty ones."""
    if manifest is None:
        yield from (DocumentMetadata() for _ in range(count))
        return
    for entry in read_manifest(manifest):
        yield DocumentMetadata.model_validate(entry.document.model_dump(exclude={"files"}))


def write_sheets(out: Path, sheets: Iterable[DocumentMetadata]) -> int:
    """A PDF of separator sheets, written atomically. Returns how many."""
    pages = [sheet_image(s, n) for n, s in enumerate(sheets, start=1)]
    tmp = out.with_name(f".{out.name}.tmp")
    pages[0].save(tmp, format="PDF", resolution=DPI, save_all=True, append_images=pages[1:])
    atomic.copy_file(tmp, out)
    tmp.unlink()
    return len(pages)
