"""Decode one page of a source file, and only that page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pdf2image
from pdf2image.exceptions import (
    PDFInfoNotInstalledError,
    PDFPageCountError,
    PDFPopplerTimeoutError,
    PDFSyntaxError,
    PopplerNotInstalledError,
)
from PIL import Image, ImageOps

from arhiva.errors import InputFileError, MissingDependencyError, QuarantineReason
from arhiva.schemas.models import FileKind, PageRef

# The page's pixels were counted against ARHIVA_MAX_IMAGE_PIXELS at discovery and are again
# below; Pillow's own fixed limit (89 Mpx) would override the setting.
Image.MAX_IMAGE_PIXELS = None


@dataclass(frozen=True)
class LoadedPage:
    image: Image.Image  # mode '1', 'L' or 'RGB'
    dpi: int


def _dpi_of(img: Image.Image, default: int) -> int:
    dpi = img.info.get("dpi")
    try:
        x = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        x = 0.0
    # Scanners sometimes write 1 or 72 dpi by mistake; a page is never scanned that coarsely.
    return round(x) if 100 <= x <= 2400 else default


def _normalise_mode(img: Image.Image) -> Image.Image:
    """Bring any decoded page to bitonal '1', greyscale 'L' or colour 'RGB'."""
    if img.mode in ("1", "L", "RGB"):
        return img
    if img.mode.startswith("I"):  # 16- or 32-bit greyscale
        arr = np.asarray(img).astype(np.float64)
        top = arr.max()
        if top > 255:
            arr = arr * (255.0 / top)
        return Image.fromarray(arr.clip(0, 255).astype(np.uint8), "L")
    if img.mode in ("LA", "La"):
        return img.convert("L")
    return img.convert("RGB")  # palette, CMYK, RGBA, YCbCr...


def load_page(
    source_root: Path,
    ref: PageRef,
    default_dpi: int,
    pdf_dpi: int,
    timeout: float = 300.0,
    max_pixels: int = 200_000_000,
) -> LoadedPage:
    path = source_root / ref.source
    if ref.kind is FileKind.pdf:
        try:
            images = pdf2image.convert_from_path(
                path,
                dpi=pdf_dpi,
                first_page=ref.index + 1,
                last_page=ref.index + 1,
                thread_count=1,
                timeout=timeout,
            )
        except (PDFInfoNotInstalledError, PopplerNotInstalledError) as exc:
            raise MissingDependencyError(
                "poppler (pdftoppm, pdfinfo) is not installed: PDF scans cannot be read; "
                "apt-get install poppler-utils"
            ) from exc
        except PDFPopplerTimeoutError as exc:
            raise InputFileError(
                QuarantineReason.corrupt_pdf, f"page {ref.index + 1} did not render within {timeout:g} s"
            ) from exc
        except (PDFPageCountError, PDFSyntaxError, OSError) as exc:
            raise InputFileError(
                QuarantineReason.corrupt_pdf, f"page {ref.index + 1} cannot be rendered: {exc}"
            ) from exc
        if not images:
            raise InputFileError(QuarantineReason.corrupt_pdf, f"page {ref.index + 1} rendered no image")
        return LoadedPage(_normalise_mode(images[0]), pdf_dpi)
    try:
        # The file is opened here, not by Pillow: closing it then leaves the decoded pixels in
        # place, where closing Pillow's own image would discard them and need a copy (15 ms).
        with path.open("rb") as fh:
            img = Image.open(fh)
            img.seek(ref.index)
            if img.width * img.height > max_pixels:  # the file changed since it was discovered
                raise InputFileError(
                    QuarantineReason.image_too_large,
                    f"page {ref.index + 1} has {img.width * img.height:,} pixels, above {max_pixels:,}",
                )
            dpi = _dpi_of(img, default_dpi)
            img.load()
        img = ImageOps.exif_transpose(img) if img.format == "JPEG" else img
        page = _normalise_mode(img)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputFileError(
            QuarantineReason.corrupt_image, f"page {ref.index + 1} cannot be decoded: {exc}"
        ) from exc
    return LoadedPage(page, dpi)
