"""Assemble a PDF/A-2b with pikepdf from a document's one-page PDFs.

Each page, as soon as it is OCRed, became a one-page PDF (the scan with Tesseract's invisible
text over it: `arhiva.ocr.pagepdf`). Here a document's pages are joined and made PDF/A by an
output intent and XMP (`build_pdfa`), reading the page data from disk as it writes, so memory
does not grow with the document's length.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name
from PIL import ImageCms

from arhiva.errors import PdfaError


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


OPEN_PAGES = 256  # one-page PDFs held open at once while joining; more are joined in parts


def _join(pages: list[Path], out: Path, finish: Callable[[pikepdf.Pdf], None] | None = None) -> None:
    """Append the pages of `pages` into `out`. The inputs stay open until the save, which reads
    their image data from disk: memory does not grow with the number of pages."""
    with ExitStack() as stack:
        pdf = stack.enter_context(pikepdf.new())
        for path in pages:
            src = stack.enter_context(pikepdf.open(path))
            pdf.pages.extend(src.pages)
        if finish is not None:
            finish(pdf)
        pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)


def build_pdfa(pages: list[Path], xmp: bytes, out: Path, open_pages: int = OPEN_PAGES) -> None:
    """Join the one-page PDFs of a document into a PDF/A-2b at `out` (the caller makes it
    atomic): sRGB output intent and the XMP metadata given."""
    if not pages:
        raise PdfaError("a document needs at least one page")

    def finish(pdf: pikepdf.Pdf) -> None:
        pdf.Root.OutputIntents = Array(
            [
                Dictionary(
                    Type=Name.OutputIntent,
                    S=Name.GTS_PDFA1,
                    OutputConditionIdentifier="sRGB IEC61966-2.1",
                    Info="sRGB IEC61966-2.1",
                    DestOutputProfile=pikepdf.Stream(pdf, srgb_profile(), N=3),
                )
            ]
        )
        pdf.Root.Metadata = pikepdf.Stream(pdf, xmp, Type=Name.Metadata, Subtype=Name.XML)

    try:
        with tempfile.TemporaryDirectory(prefix=".join-", dir=out.parent) as tmp:
            parts = pages
            while len(parts) > open_pages:  # join in parts, then the parts
                joined = []
                for i in range(0, len(parts), open_pages):
                    part = Path(tmp) / f"part-{len(joined)}-{len(parts)}.pdf"
                    _join(parts[i : i + open_pages], part)
                    joined.append(part)
                parts = joined
            _join(parts, out, finish)
    except (pikepdf.PdfError, OSError) as exc:
        raise PdfaError(f"cannot assemble the PDF/A: {exc}") from exc
