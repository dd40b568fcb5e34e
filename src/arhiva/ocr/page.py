"""The two per-page stages: prepare (decode, rotate, deskew) and recognise (one Tesseract run,
and the page made a one-page PDF); `process` runs both, handing the straightened image from one
to the other in memory.

Each page works in its own folder of the archive's work area, named after the page's content
(the SHA-256 of its source file, computed once at intake, and its place in that file) and the
settings that shape the result. A stage's result is recorded last, atomically; so when a run
is interrupted, the next one finds what was finished and redoes only the rest: a page OCRed
before a crash is not OCRed again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from arhiva import atomic
from arhiva.config import PIPELINE_VERSION, Settings
from arhiva.ocr import orient
from arhiva.ocr.barcodes import separator_code
from arhiva.ocr.blank import is_blank
from arhiva.ocr.decode import LoadedPage, load_page
from arhiva.ocr.pagepdf import build_page_pdf
from arhiva.ocr.prepare import Geometry, prepare_page
from arhiva.ocr.tesseract import ocr_page, read_sample
from arhiva.schemas.models import OcrPage, PageRef, PreparedPage
from arhiva.schemas.separator import SeparatorPage

PREPARED = "prepared.json"
RECOGNISED = "ocr.json"
SEPARATOR = "separator.json"


def page_key(ref: PageRef, settings: Settings) -> str:
    """The page's content and every setting that shapes its output (marked on Settings)."""
    options = "|".join(str(value) for _, value in settings.output_shaping())
    return hashlib.sha256(f"{ref.content_key}|{options}|{PIPELINE_VERSION}".encode()).hexdigest()


def page_dir(work: Path, ref: PageRef, settings: Settings) -> Path:
    key = page_key(ref, settings)
    return work / "pages" / key[:2] / key


def prepare(source_root: Path, ref: PageRef, number: int, work: Path, settings: Settings) -> PreparedPage:
    """Decode one page, undo its rotation and skew, and keep it losslessly in its work folder."""
    return _prepare(source_root, ref, number, work, settings)[0]


def _load(source_root: Path, ref: PageRef, settings: Settings) -> LoadedPage:
    return load_page(
        source_root,
        ref,
        settings.default_dpi,
        settings.pdf_render_dpi,
        timeout=settings.tesseract_timeout,
        max_pixels=settings.max_image_pixels,
    )


def _cached(folder: Path) -> PreparedPage | None:
    done = folder / PREPARED
    if done.is_file():
        page = PreparedPage.model_validate_json(done.read_bytes())
        if all(Path(p).is_file() for p in (page.image_path, page.ocr_image_path or page.image_path)):
            return page
    return None


def _prepare(
    source_root: Path,
    ref: PageRef,
    number: int,
    work: Path,
    settings: Settings,
    loaded: LoadedPage | None = None,
) -> tuple[PreparedPage, Image.Image | None]:
    """`prepare`, also giving the straightened image when it was made now (None when an earlier
    run had prepared the page). `loaded`: the page, when the caller has decoded it already."""
    folder = page_dir(work, ref, settings)
    if (page := _cached(folder)) is not None:
        return page.model_copy(update={"number": number}), None
    loaded = loaded or _load(source_root, ref, settings)
    done = folder / PREPARED
    image_path = folder / "page.tif"

    def orienter(gray: np.ndarray, guess: Geometry) -> Geometry:
        sample = orient.sampler(gray, loaded.dpi, guess)

        def read(rotation: int) -> tuple[float, int]:
            band, dpi = sample(rotation)
            path = folder / f".sample.{rotation}.{os.getpid()}.{threading.get_ident()}.png"
            try:
                cv2.imwrite(str(path), band)
                return read_sample(
                    path,
                    languages=settings.languages,
                    dpi=dpi,
                    timeout=settings.tesseract_timeout,
                    tessdata=settings.tessdata,
                )
            finally:
                path.unlink(missing_ok=True)

        return orient.orient(guess, read)

    folder.mkdir(parents=True, exist_ok=True)
    prepared = prepare_page(loaded.image, loaded.dpi, image_path, settings.max_skew_deg, orienter)
    geometry, image = prepared.geometry, prepared.image
    page = PreparedPage(
        number=number,
        ref=ref,
        image_path=str(image_path),
        width=image.width,
        height=image.height,
        dpi=loaded.dpi,
        color_mode=image.mode,
        rotation=geometry.rotation,
        skew=geometry.skew,
        orientation=geometry.orientation,
        ocr_image_path=str(prepared.ocr_image) if prepared.ocr_image else None,
        frame=prepared.frame,
        regions=prepared.regions,
        ink=prepared.ink,
    )
    atomic.write_text(done, page.model_dump_json())
    return page, image


def process(
    source_root: Path, ref: PageRef, number: int, work: Path, settings: Settings
) -> OcrPage | SeparatorPage:
    """Prepare and recognise one page; or, when it is a separator sheet, only say so (it is
    neither straightened nor OCRed: it belongs to no document)."""
    folder = page_dir(work, ref, settings)
    marker = folder / SEPARATOR
    if marker.is_file():
        return SeparatorPage.model_validate_json(marker.read_bytes()).model_copy(update={"number": number})
    loaded = None
    if _cached(folder) is None:  # a page an earlier run prepared was no separator
        loaded = _load(source_root, ref, settings)
        gray = np.asarray(loaded.image.convert("L"))
        if (code := separator_code(gray, loaded.dpi)) is not None:
            found = SeparatorPage(
                number=number,
                source=ref.source,
                source_sha256=ref.source_sha256,
                index=ref.index,
                payload=code,
            )
            atomic.write_text(marker, found.model_dump_json())
            return found
    page, image = _prepare(source_root, ref, number, work, settings, loaded)
    return recognise(page, settings, image)


def recognise(page: PreparedPage, settings: Settings, image: Image.Image | None = None) -> OcrPage:
    """OCR a prepared page, exactly one Tesseract run unless an earlier run already did it, and
    make it a one-page PDF: the scan's image with the invisible text over it. `image` is the
    prepared image when the caller still holds it (else it is read from its work file)."""
    folder = Path(page.image_path).parent
    done = folder / RECOGNISED
    if done.is_file():
        cached = OcrPage.model_validate_json(done.read_bytes())
        if Path(cached.page_pdf).is_file():
            return cached.model_copy(update={"page": page, "reused": True})
    # Tesseract writes under a name of this run's own, renamed into place when complete, so two
    # runs on the same page (two ingests of one folder at once) never read each other's halves.
    base = folder / f".ocr.{os.getpid()}.{threading.get_ident()}"
    page_pdf = folder / "page.pdf"
    try:
        result = ocr_page(
            Path(page.ocr_image_path or page.image_path),
            base,
            languages=settings.languages,
            dpi=page.dpi,
            timeout=settings.tesseract_timeout,
            tessdata=settings.tessdata,
            regions=page.regions,
        )
        made = Path(f"{base}.page.pdf")
        build_page_pdf(
            Path(page.image_path) if image is None else image,
            result.text_layers,
            page.dpi,
            made,
            settings.jpeg_quality,
        )
        os.replace(made, page_pdf)
    finally:
        for leftover in folder.glob(f"{base.name}.*"):
            leftover.unlink(missing_ok=True)
    recognised = OcrPage(
        page=page,
        text=result.text,
        mean_confidence=result.mean_confidence,
        words=result.words,
        engine=result.engine,
        blank=is_blank(page.ink, result.words),
        page_pdf=str(page_pdf),
    )
    atomic.write_text(done, recognised.model_dump_json())
    return recognised
