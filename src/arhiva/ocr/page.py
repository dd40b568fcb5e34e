"""The two per-page stages: prepare (decode, rotate, deskew) and recognise (one Tesseract run)."""

from __future__ import annotations

from pathlib import Path

from arhiva.config import Settings
from arhiva.ingest.pages import load_page
from arhiva.ocr.prepare import prepare_page
from arhiva.ocr.tesseract import ocr_page
from arhiva.schemas.models import OcrPage, PageRef, PreparedPage


def page_stem(work: Path, document_id: str, number: int) -> Path:
    return work / document_id[:16] / f"p{number:05d}"


def prepare(
    source_root: Path, document_id: str, ref: PageRef, number: int, work: Path, settings: Settings
) -> PreparedPage:
    """Decode one page, undo its rotation and skew, and keep it losslessly in `work`."""
    loaded = load_page(source_root, ref, settings.default_dpi, settings.pdf_render_dpi)
    scratch = page_stem(work, document_id, number).with_suffix(".tif")
    geometry, image = prepare_page(loaded.image, loaded.dpi, scratch, settings.max_skew_deg)
    return PreparedPage(
        number=number,
        ref=ref,
        image_path=str(scratch),
        width=image.width,
        height=image.height,
        dpi=loaded.dpi,
        color_mode=image.mode,
        rotation=geometry.rotation,
        skew=geometry.skew,
    )


def recognise(page: PreparedPage, settings: Settings) -> OcrPage:
    """OCR a prepared page: exactly one Tesseract run."""
    image = Path(page.image_path)
    result = ocr_page(
        image,
        image.with_suffix(""),
        languages=settings.languages,
        dpi=page.dpi,
        cmd=settings.tesseract_cmd,
        timeout=settings.tesseract_timeout,
    )
    return OcrPage(
        page=page,
        text=result.text,
        mean_confidence=result.mean_confidence,
        words=result.words,
        text_layer_pdf=str(result.text_layer_pdf),
    )
